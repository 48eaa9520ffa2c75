"""``python -m mysdk.testing scan cassettes/``: exit 1 if a cassette holds a secret."""

from mysdk.testing.scan import main

if __name__ == "__main__":
    raise SystemExit(main())
