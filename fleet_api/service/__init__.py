"""The fleet service: where deliveries, robots, trips, elevators and visitors meet.

It keeps the decisions in the pure domain modules (fleet_api/domain) and does the bookkeeping:
store writes, custody events, notifications, messages to vehicles and elevators, live events for
the pages. One object, assembled from one module per kind of work that share its state:

- core.py        vehicles, trips, link resync, home and charging, safety, elevators, instant actions
- deliveries.py  clerks' deliveries: request, cancel, dispatch (several per trip when routes fit), compartments
- progress.py    following a trip: elevators, and each delivery on board step by step
- trip_plans.py  stop lists to orders, and re-planned orders when the stops change
- returns.py     return to sender, absent recipients, wrong PINs and alerts
- visitors.py    spoken answers and visits to visitors who waited too long
- resume.py      deliveries resumed from their stored trips after a fleet manager restart
- guidance_desk.py  what a kiosk asks of the fleet (lead the way, call a helper), composed with it
"""

from fleet_api.service.core import TECHNICIAN_DESK, FleetCore, FleetError, FleetLink, TripRun, level_of_map, utcnow
from fleet_api.service.deliveries import DeliveryWork
from fleet_api.service.progress import TripProgress
from fleet_api.service.resume import ResumeAfterRestart
from fleet_api.service.returns import ReturnsAndAbsence
from fleet_api.service.trip_plans import TripPlanning
from fleet_api.service.visitors import VisitorCare

__all__ = ["TECHNICIAN_DESK", "FleetError", "FleetLink", "FleetService", "TripRun", "level_of_map", "utcnow"]


class FleetService(
    DeliveryWork, TripProgress, TripPlanning, ReturnsAndAbsence, VisitorCare, ResumeAfterRestart, FleetCore
):
    """The fleet manager's whole behaviour behind the HTTP routes and the MQTT adapter."""
