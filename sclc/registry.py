"""Plugin discovery: entry points of group ``sclc`` -> a registry of components by kind.

Built-in components arrive through the same entry points as third-party ones. A plugin that
fails to import, implements an unknown hook, raises while registering, or reuses a taken name is
recorded as *broken* (with its distribution and the error) and the rest still load.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import os
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Callable

import pluggy

from sclc import hookspecs
from sclc.errors import UnknownComponentError

GROUP = "sclc"
# Entry points renamed in issue #16; allow- and block-lists naming the old ones still work.
RENAMED_PLUGINS = {"text_none": "text_prior_none"}


@dataclass(frozen=True)
class Component:
    kind: str
    name: str
    factory: Callable[..., Any]
    params: type | None  # a dataclass describing the spec keys the component accepts
    summary: str
    reference: str
    provider: str  # distribution that registered it
    plugin: str  # entry point name (or module name for directly registered plugins)
    extra: dict = field(default_factory=dict)  # kind-specific facts, e.g. a backbone's sites

    def default_params(self):
        return self.params() if self.params else None


@dataclass(frozen=True)
class Unavailable:
    """A component a plugin could provide if an optional dependency were installed."""

    kind: str
    name: str
    provider: str
    reason: str


@dataclass(frozen=True)
class BrokenPlugin:
    plugin: str
    provider: str
    error: str


class Register:
    """The callback handed to a plugin's hook: ``register(name, factory, ...)``."""

    def __init__(self, registry: "Registry", kind: str, plugin: str, provider: str):
        self._registry, self._kind, self._plugin, self._provider = registry, kind, plugin, provider

    def __call__(self, name: str, factory: Callable[..., Any], *, summary: str,
                 params: type | None = None, reference: str = "", **extra: Any) -> None:
        if params is not None and not dataclasses.is_dataclass(params):
            raise TypeError(f"params of {self._kind} '{name}' must be a dataclass")
        component = Component(self._kind, name, factory, params, summary, reference,
                               self._provider, self._plugin, extra)
        self._registry._add(component)

    def unavailable(self, name: str, reason: str) -> None:
        """Declare a component that cannot be offered here, and why (e.g. a missing extra)."""
        self._registry.unavailable.append(Unavailable(self._kind, name, self._provider, reason))


class DuplicateComponent(Exception):
    pass


class Registry:
    def __init__(self):
        self._components: dict[tuple[str, str], Component] = {}
        self.broken: list[BrokenPlugin] = []
        self.unavailable: list[Unavailable] = []
        self._pm = pluggy.PluginManager(hookspecs.PROJECT)
        self._pm.add_hookspecs(hookspecs)

    # -- loading ---------------------------------------------------------------------------
    def load_entry_point(self, ep: EntryPoint, provider: str | None = None) -> None:
        provider = provider or (ep.dist.name if getattr(ep, "dist", None) else "unknown")
        try:
            module = ep.load()
        except Exception as exc:  # a broken plugin must not take the host down
            self.broken.append(BrokenPlugin(ep.name, provider, f"import failed: {exc!r}"))
            return
        self.register_plugin(module, name=ep.name, provider=provider)

    def register_plugin(self, plugin: object, name: str, provider: str) -> None:
        """Register one plugin object (usually a module) and collect its components."""
        renamed = [f"{old} (now {new})" for old, new in hookspecs.RENAMED_HOOKS.items() if hasattr(plugin, old)]
        if renamed:
            self.broken.append(BrokenPlugin(name, provider, f"implements renamed hooks: {', '.join(renamed)}"))
            return
        try:
            self._pm.register(plugin, name=name)
            self._pm.check_pending()
        except Exception as exc:
            if self._pm.is_registered(plugin):
                self._pm.unregister(plugin)
            self.broken.append(BrokenPlugin(name, provider, f"invalid plugin: {exc}"))
            return
        before = dict(self._components)
        try:
            for kind in hookspecs.KINDS:
                for impl in getattr(self._pm.hook, kind.hook).get_hookimpls():
                    if impl.plugin is plugin:
                        impl.function(register=Register(self, kind.name, name, provider))
        except Exception as exc:
            self._components = before  # all or nothing per plugin
            self._pm.unregister(plugin)
            self.broken.append(BrokenPlugin(name, provider, f"registration failed: {exc}"))

    def _add(self, component: Component) -> None:
        key = (component.kind, component.name)
        if key in self._components:
            other = self._components[key]
            raise DuplicateComponent(
                f"{label(component.kind)} '{component.name}' is registered by both "
                f"{other.provider} ({other.plugin}) and {component.provider} ({component.plugin})")
        self._components[key] = component

    # -- queries ---------------------------------------------------------------------------
    def names(self, kind: str) -> list[str]:
        return sorted(name for k, name in self._components if k == kind)

    def components(self, kind: str | None = None) -> list[Component]:
        kinds = [check_kind(kind)] if kind else [k.name for k in hookspecs.KINDS]
        return [self._components[(k, n)] for k in kinds for n in self.names(k)]

    def get(self, kind: str, name: str) -> Component:
        check_kind(kind)
        try:
            return self._components[(kind, name)]
        except KeyError:
            for missing in self.unavailable:
                if (missing.kind, missing.name) == (kind, name):
                    raise UnknownComponentError(
                        f"{label(kind)} '{name}' is unavailable: {missing.reason}") from None
            raise UnknownComponentError(unknown_message(kind, name, self.names(kind))) from None


def check_kind(kind: str) -> str:
    """``kind`` if it is one; otherwise an error naming the kinds (and the new name of an old one)."""
    if kind in hookspecs.KIND:
        return kind
    if kind in hookspecs.RENAMED_KINDS:
        raise UnknownComponentError(f"the kind '{kind}' is now called '{hookspecs.RENAMED_KINDS[kind]}'")
    raise UnknownComponentError(f"unknown kind '{kind}' — kinds: {', '.join(k.name for k in hookspecs.KINDS)}")


def label(kind: str) -> str:
    return hookspecs.KIND[kind].label


def unknown_message(kind: str, name: str, choices: list[str]) -> str:
    what = label(kind)
    message = f"unknown {what} '{name}' — registered {what}s: {', '.join(choices) or '(none)'}"
    close = difflib.get_close_matches(name, choices, n=1)
    return message + (f" (did you mean '{close[0]}'?)" if close else "")


def _selected(ep_name: str) -> bool:
    """Honour SCLC_LOAD_PLUGINS (allow-list) and SCLC_DISABLE_PLUGINS (block-list)."""
    allow = os.environ.get("SCLC_LOAD_PLUGINS")
    block = os.environ.get("SCLC_DISABLE_PLUGINS", "")
    if allow is not None and ep_name not in _names(allow):
        return False
    return ep_name not in _names(block)


def _names(listed: str) -> set[str]:
    names = {s.strip() for s in listed.split(",") if s.strip()}
    return {RENAMED_PLUGINS.get(name, name) for name in names}


def discover() -> Registry:
    """Load every selected ``sclc`` entry point into a fresh registry."""
    registry = Registry()
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        if _selected(ep.name):
            registry.load_entry_point(ep)
    return registry


@functools.lru_cache(maxsize=1)
def default_registry() -> Registry:
    return discover()
