"""ml-anki: a Markdown study guide of ML interview questions → an Anki deck that updates in place."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ml-anki")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
