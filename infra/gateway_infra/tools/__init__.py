"""Developer tools around the deployable: the bundle builder, the local event runner, the key CLI wrapper."""
