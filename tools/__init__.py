"""Tools beside the domain: the demo builders, the edge simulator, the pipeline benchmark and the proof of
deletion, each behind a thin management command. Tools import the apps; no app imports tools."""
