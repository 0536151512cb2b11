"""Carries ``pulumi-plugin.json`` for the distribution ``pulumi-ccc-numbers``; holds no code.

Owns only that marker file, ``{"resource": false}``: Pulumi's Python language host treats every
installed distribution named ``pulumi-*`` without one as a resource-plugin package and tries to
download a plugin ``ccc-numbers`` on every preview and ``up``. The host looks for the file in the
package named like the distribution (``pulumi_ccc_numbers``), hence this package. Must not hold
code or be imported by ``ccc_numbers``: import ``ccc_numbers`` for the provider.
"""
