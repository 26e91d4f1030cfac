"""aio-bot: chatops for ESXi hosts running out of FDS AIO handles."""

__version__ = "0.1.0"
