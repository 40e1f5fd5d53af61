"""Backend registry: a name -> backend factory dict, imported lazily.

``import fastnn`` does not import numba: the Numba backend's module is imported the first time
it is asked for, and a failure to import or compile it is remembered and explained once.

>>> from fastnn import backends
>>> backends.available()          # doctest: +SKIP
['numpy', 'numba']
>>> backends.get("auto").name     # doctest: +SKIP
'numba'
"""

from __future__ import annotations

import importlib
import os
import warnings

from .interface import ACTIVATIONS, DTYPES, Backend

__all__ = ["Backend", "available", "get", "resolve_name", "unavailable_reason", "NAMES",
           "ACTIVATIONS", "DTYPES", "BackendUnavailableError"]

#: name -> (module, class name); modules are imported on first use.
_REGISTRY = {
    "numpy": ("fastnn.backends.numpy_backend", "NumpyBackend"),
    "numba": ("fastnn.backends.numba_backend", "NumbaBackend"),
}
NAMES = tuple(_REGISTRY)
#: Preference order for "auto": fastest first.
_AUTO_ORDER = ("numba", "numpy")
ENV_VAR = "FASTNN_BACKEND"

_instances: dict[str, Backend] = {}
_failures: dict[str, str] = {}
_errors: dict[str, Exception] = {}
_warned_fallback = False


class BackendUnavailableError(RuntimeError):
    """A backend that exists in the registry cannot be used on this machine."""


def _load(name: str) -> Backend | None:
    if name in _instances:
        return _instances[name]
    if name in _failures:
        return None
    module_name, class_name = _REGISTRY[name]
    try:
        module = importlib.import_module(module_name)
        backend = getattr(module, class_name)()
    except Exception as exc:  # missing or broken install (numba raises ImportError for an
        # unsupported NumPy too), or a failed compile probe
        _failures[name] = f"{type(exc).__name__}: {exc}"
        _errors[name] = exc
        return None
    _instances[name] = backend
    return backend


def _check_name(name, argument="backend"):
    valid = ("auto",) + NAMES
    if not isinstance(name, str) or name not in valid:
        raise ValueError(f"{argument}={name!r} is not a known backend; expected one of "
                         f"{', '.join(repr(v) for v in valid)}")
    return name


def available() -> list[str]:
    """Names of the backends that import and work here, in registry order."""
    return [name for name in NAMES if _load(name) is not None]


def unavailable_reason(name: str) -> str | None:
    """Why backend ``name`` cannot be used here, or None if it can."""
    _check_name(name)
    if name == "auto" or _load(name) is not None:
        return None
    return _failures[name]


def resolve_name(name: str = "auto") -> str:
    """The concrete backend name that ``name`` stands for (``"auto"`` and ``FASTNN_BACKEND``).

    "auto" is the fastest backend that works here: Numba, which bench/REPORT.md finds faster
    at every batch and hidden size it measures, else NumPy (with one warning saying why).
    """
    _check_name(name)
    if name == "auto":
        env = os.environ.get(ENV_VAR, "").strip()
        if env:
            _check_name(env, argument=ENV_VAR)
            name = env
    if name != "auto":
        return name
    for candidate in _AUTO_ORDER:
        if _load(candidate) is not None:
            if candidate != _AUTO_ORDER[0]:
                _warn_fallback(candidate)
            return candidate
    raise BackendUnavailableError("no backend is usable: " + "; ".join(_failures.values()))


def _remedy(name) -> str:
    """What to do about backend ``name``'s failure, from what actually failed."""
    error = _errors.get(name)
    if isinstance(error, ModuleNotFoundError) and error.name in ("numba", "llvmlite"):
        return "install numba (pip install numba) for the fast backend"
    return ("numba is installed but the backend failed to start (see the reason); "
            "`fastnn info` shows the versions and the cache folder")


def _warn_fallback(chosen):
    global _warned_fallback
    if _warned_fallback:
        return
    _warned_fallback = True
    best = _AUTO_ORDER[0]
    warnings.warn(f"fastnn: backend {best!r} is unavailable ({_failures.get(best)}); "
                  f"using {chosen!r}: {_remedy(best)}.", RuntimeWarning, stacklevel=3)


def get(name: str | Backend = "auto") -> Backend:
    """Return the backend called ``name``.

    Parameters
    ----------
    name : {"auto", "numpy", "numba"} or Backend
        ``"auto"`` picks ``FASTNN_BACKEND`` if set, else the fastest backend that works here
        (with one warning if that is not the Numba backend). A Backend instance is returned as is.

    Raises
    ------
    ValueError
        For an unknown name.
    BackendUnavailableError
        If the named backend cannot be used here; the message says why and how to fix it.
    """
    if isinstance(name, Backend):
        return name
    concrete = resolve_name(name)
    backend = _load(concrete)
    if backend is None:
        raise BackendUnavailableError(
            f"backend {concrete!r} is unavailable here: {_failures[concrete]}; "
            f"{_remedy(concrete)}, or use backend='numpy'.")
    return backend
