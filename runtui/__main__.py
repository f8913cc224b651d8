"""`python -m runtui` is the `runtui` command."""

from runtui.cli import main

if __name__ == "__main__":
    main()
