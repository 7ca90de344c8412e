import os
import sys

# tests/scenario_driver.py is shared with the C runner.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
