"""runtui: governed runs, orchestrated from the terminal.

This package root stays import-light on purpose: `runtui --version`, the store and the actors
import it, and none of them may pay for (or depend on) the Textual UI.
"""

__version__ = "0.1.0"
