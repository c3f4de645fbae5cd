from memory_system._entry import main

main()
