"""Merge node cubes into national, network, zorgkantoor and province cubes.

``model`` holds what a merge yields (exact values or honest intervals), ``services`` the merge
itself and ``validate`` the checks of its inputs.
"""
