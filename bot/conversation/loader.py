"""Find the dialogs: every module-level :class:`Dialog` in the ``handlers`` package.

Kept out of ``handlers/__init__.py`` on purpose: discovery then works even where ``handlers``
is imported as a namespace package (an editable install made before the package existed).
"""

from __future__ import annotations

import importlib
import pkgutil

from bot.conversation.dialog import Dialog, Registry


def load_registry(package: str = "handlers") -> Registry:
    """A registry with every dialog of ``package`` and the entries of ``<package>.menu``."""
    registry = Registry()
    root = importlib.import_module(package)
    for info in sorted(pkgutil.iter_modules(root.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, Dialog):
                registry.add(value)
    menu = importlib.import_module(f"{package}.menu")
    for entry in getattr(menu, "MENU_ENTRIES", ()):
        registry.add_menu_entry(entry)
    return registry
