"""Reading in bulk: a ContainerView and the PropertyCollector (`RetrievePropertiesEx`),
never attribute walks (each attribute is a round trip)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pyVmomi import vim, vmodl
from pyVmomi.VmomiSupport import ManagedObject

from bot.vsphere.session import Conn
from bot.vsphere.vmodl_data import data

log = logging.getLogger(__name__)
PC = vmodl.query.PropertyCollector
PAGE = 500


@dataclass(frozen=True, slots=True)
class Obj:
    """One managed object's requested properties."""

    ref: ManagedObject
    props: Mapping[str, Any]

    @property
    def moref(self) -> str:
        return str(self.ref._moId)

    def get(self, path: str, default: Any = None) -> Any:
        return self.props.get(path, default)


def from_view(conn: Conn, paths: Mapping[type, Sequence[str]]) -> list[Obj]:
    """Every object of the given types under the root folder, with the given properties."""
    manager, root = conn.content.viewManager, conn.content.rootFolder
    assert manager is not None and root is not None
    view = manager.CreateContainerView(root, list(paths), True)
    try:
        traverse = data(PC.TraversalSpec, name="view", type=vim.view.ContainerView,
                        path="view", skip=False)
        spec = data(
            PC.FilterSpec,
            objectSet=[data(PC.ObjectSpec, obj=view, skip=True, selectSet=[traverse])],
            propSet=[data(PC.PropertySpec, type=t, pathSet=list(p)) for t, p in paths.items()])
        return retrieve(conn, spec)
    finally:
        _destroy(view)


def of_objects(conn: Conn, objs: Iterable[ManagedObject], paths: Sequence[str]) -> list[Obj]:
    """The given properties of these objects (all of one type)."""
    objs = list(objs)
    if not objs:
        return []
    spec = data(PC.FilterSpec,
                objectSet=[data(PC.ObjectSpec, obj=o, skip=False) for o in objs],
                propSet=[data(PC.PropertySpec, type=type(objs[0]), pathSet=list(paths))])
    return retrieve(conn, spec)


def of_each(conn: Conn, wanted: Sequence[tuple[ManagedObject, Sequence[str]]]) -> list[Obj]:
    """Properties of objects of different types in one round trip: (object, paths) pairs."""
    if not wanted:
        return []
    spec = data(PC.FilterSpec,
                objectSet=[data(PC.ObjectSpec, obj=o, skip=False) for o, _ in wanted],
                propSet=[data(PC.PropertySpec, type=type(o), pathSet=list(p)) for o, p in wanted])
    return retrieve(conn, spec)


def retrieve(conn: Conn, spec: vmodl.query.PropertyCollector.FilterSpec) -> list[Obj]:
    """RetrievePropertiesEx, following the continuation token page by page."""
    collector = conn.content.propertyCollector
    assert collector is not None
    options = data(PC.RetrieveOptions, maxObjects=PAGE)
    result = collector.RetrievePropertiesEx(specSet=[spec], options=options)
    found: list[Obj] = []
    while result is not None:
        found.extend(_obj(oc) for oc in result.objects)
        if not result.token:
            break
        result = collector.ContinueRetrievePropertiesEx(token=result.token)
    return found


def _obj(oc: vmodl.query.PropertyCollector.ObjectContent) -> Obj:
    for missing in oc.missingSet:
        # vcsim reports an expired session per property, not as a fault of the call.
        # pyVmomi hands over the MethodFault itself where the stubs say LocalizedMethodFault.
        fault = getattr(missing.fault, "fault", missing.fault)
        if isinstance(fault, vim.fault.NotAuthenticated):
            raise fault
    return Obj(oc.obj, {p.name: p.val for p in oc.propSet})


def _destroy(view: vim.view.ContainerView) -> None:
    try:
        view.DestroyView()
    except vmodl.MethodFault as fault:  # the session may be gone; the view goes with it
        log.debug("DestroyView: %s", type(fault).__name__)
