from memory_system.cli import main

main()
