"""Errors a user can cause. The CLI prints them as one `error: ...` line, never a traceback."""


class StyleforgeError(Exception):
    """A problem with the user's input, files or options; the message is shown as is."""


class ImageLoadError(StyleforgeError):
    """An image file that cannot be used, with the file and the reason."""

    def __init__(self, path: object, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ModelFileError(StyleforgeError):
    """A model or checkpoint file that is not a usable styleforge file."""


class NotAnImageError(ImageLoadError):
    """Content that is not an image in a format we read, whatever its name says."""


class ImageTooLargeError(ImageLoadError):
    """More pixels than the guard allows: refused before decoding (decompression bombs)."""
