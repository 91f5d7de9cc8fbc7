"""What a call is and how one is made: the canonical call (`model`), the fixtures that say what
exists (`fixtures`), the seeded generator and its dialogues and names, the lifecycle on the
virtual clock, ids, instants, the codec, and the calls clients create (`created`).

Imports only the ground below it: `sandbox.errors`, `sandbox.schemas`.
"""
