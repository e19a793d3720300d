"""A fifth platform that lives in the test suite only: a county notice board (公告栏).

channel.py renders, adapter.py talks to it and declares its ``SPEC``, emulator.py is its
sandbox module. Nothing outside this package names it: ``YUNCHU_PLATFORM_SPECS`` brings it in.
"""
