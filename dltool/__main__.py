"""``python -m dltool``."""

from dltool.cli import main

if __name__ == "__main__":
    main()
