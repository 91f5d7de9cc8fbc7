"""Running the sandbox: the CLI (`cli`), uvicorn in the foreground or on a thread (`server`),
worker processes (`workers`), the fixture reloader and the app switch it swaps through.

Imports `sandbox.app` and below; the testing package may use it, never the other way round.
"""
