"""styleforge: learn the style of an image collection with a GAN and carry it onto any photo."""

from styleforge.errors import StyleforgeError

__version__ = "0.1.0"
__all__ = ["Stylizer", "StyleforgeError", "__version__"]


def __getattr__(name: str):
    # Stylizer pulls in torch; import it lazily so `styleforge --help` stays quick.
    if name == "Stylizer":
        from styleforge.inference.stylizer import Stylizer

        return Stylizer
    raise AttributeError(name)
