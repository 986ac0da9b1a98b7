from characterize.netlist.techmap import ROLES, CellMatcher


def test_default_library_has_every_generator_role(library):
    matcher = CellMatcher(library)
    for role in ROLES:
        cell = library.cells[matcher.role(role).cell]
        assert cell.transistors is not None
