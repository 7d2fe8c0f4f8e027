"""officescore's runtime, one sub-package per layer, each importing only those below it:
cli > web > runs | scale > video > inference > judge > core. It never imports torch."""
