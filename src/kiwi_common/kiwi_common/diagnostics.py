"""Diagnostics without the ROS types, and their diagnostic_msgs form (every Kiwi node reports here)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Diagnostic:
    """One diagnostic_msgs/DiagnosticStatus, without the ROS types."""

    level: int  # 0 OK, 1 WARN, 2 ERROR, 3 STALE
    name: str
    message: str
    values: dict[str, str] = field(default_factory=dict)
    hardware_id: str = ""


def diagnostic_array(node_name: str, diagnostics: list[Diagnostic], stamp):
    """diagnostic_msgs/DiagnosticArray of `diagnostics`, each named '<node_name>: <name>'."""
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

    array = DiagnosticArray(
        status=[
            DiagnosticStatus(
                level=bytes([d.level]),
                name=f"{node_name}: {d.name}",
                message=d.message,
                hardware_id=d.hardware_id,
                values=[KeyValue(key=k, value=v) for k, v in d.values.items()],
            )
            for d in diagnostics
        ]
    )
    array.header.stamp = stamp
    return array
