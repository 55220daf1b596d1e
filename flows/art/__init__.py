"""Art pipeline flows (neural style transfer); ``python -m flows.art <command>``."""

from flows.art.stylize import gallery, stylize_one

__all__ = ["gallery", "stylize_one"]
