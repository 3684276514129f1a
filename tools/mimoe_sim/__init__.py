"""mimoe_sim: a local simulator of a mimik mimOE edge node (MCM API, /mcm/v1).

Standard library only (plus Node.js for running mims). See README.md in this directory.
"""

__version__ = "1.0.0"
