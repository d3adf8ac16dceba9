"""The five standard rocket message types, each its own plugin module.

They are registered through the ``rockets`` entry-point group in the project's pyproject, the
same way a third party's plugin is: the core imports none of them.
"""
