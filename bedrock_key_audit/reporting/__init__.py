"""Reports of a run: results.json, JUnit, HTML, OSCAL, OCSF, the evidence bundle and the run directory."""
