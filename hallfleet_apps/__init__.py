"""HallFleet's entry points: the command line, the demo hall and its supervisor, launch files, and
the simulators of what surrounds the fleet (elevator controllers, queue tickets).

The top of the import graph: these modules import ``fleet_api``, ``robots``, ``maps`` and the kernel
``hallfleet``; nothing imports them.
"""
