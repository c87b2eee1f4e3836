"""Errors raised while loading a file."""


class FileRefused(Exception):
    """The whole file is refused: nothing of it is stored. The message is for people."""
