"""The service process: uvicorn under our signals, start-up, drain and exit.

Above the runtime (it builds one and serves its app), below the CLI (``serve`` calls it).
"""
