"""Who holds a case: the concrete unit behind a state's tier."""

from __future__ import annotations

from collections.abc import Mapping

from workflow.catalog.registry import UnitIndex
from workflow.spec.model import ItemSpec


def resolve_holder(
    tier: str | None,
    *,
    workstation: str,
    street: str,
    item: ItemSpec,
    units: UnitIndex,
    target: str | None = None,
    current_department: str | None = None,
    street_holders: Mapping[str, str] | None = None,
) -> str | None:
    """The unit that holds a case in a state of TIER.

    workstation and applicant: the case's workstation (it acts on the applicant's behalf);
    street_office: the workstation's street; agency: the street's stationed agency of the item's
    kind, or the street office itself where the item names none (or the street has none);
    department: a whistle's target, else the department already holding it, else the item's
    responsible department. A final state has no holder. STREET_HOLDERS (tier -> unit), from
    the street's routing table, overrides the street_office and agency tiers."""
    if tier is None:
        return None
    if street_holders and tier in street_holders:
        return street_holders[tier]
    if tier in ("workstation", "applicant"):
        return workstation
    if tier == "street_office":
        return street
    if tier == "agency":
        if target:  # chosen on dispatch among dispatch_choices()
            return target
        if item.street_agency:
            return units.agencies.get((street, item.street_agency), street)
        return street
    if tier == "department":
        return target or current_department or item.department
    # 两委: the community's party committee and its residents' committee's mediation committee;
    # the party line goes on to the street party working committee. Validation makes sure each
    # community and street has them; a unit missing anyway leaves the case with its workstation
    # or street rather than nowhere.
    if tier in ("party_committee", "mediation_committee"):
        return units.body(workstation, tier) or workstation
    if tier == "street_party":
        return units.body(street, "street_party_committee") or street
    raise ValueError(f"unknown tier {tier!r}")


def dispatch_choices(
    street: str, item: ItemSpec, units: UnitIndex, routed: str | None = None
) -> list[str]:
    """Whom a street may dispatch a case of ITEM to: its stationed agencies of a fitting kind
    (the item's agency kind, or an agency of the item's departments: responsible, lead,
    assisting, whistle targets), the default one first (ROUTED, the street's routing table's
    choice, where it has one), then the street office itself."""
    default = routed or resolve_holder(
        "agency", workstation="", street=street, item=item, units=units
    )
    departments = {item.department, item.lead_unit, *item.assist_units, *item.whistle_to}
    fitting = sorted(
        code
        for code, u in units.units.items()
        if u.kind == "dispatched_agency"
        and u.host_street == street
        and (u.agency_kind == item.street_agency or u.parent in departments)
    )
    out = [default] if default and default != street else []
    out += [c for c in fitting if c != default]
    return [*out, street]


def supervising_units(holder: str, units: UnitIndex) -> tuple[str, str | None]:
    """Whom a late stage is reported to: workstation -> its street; street office -> the district;
    agency -> its department (and its host street too); department -> the district."""
    u = units.get(holder)
    district = next((c for c, x in units.units.items() if x.kind == "district"), "X-SN")
    if u.kind == "workstation":
        return u.parent or district, None
    if u.kind == "dispatched_agency":
        return u.parent or district, u.host_street
    if u.kind in ("party_committee", "residents_committee", "mediation_committee"):
        street = units.street_of(holder)
        if street:
            # The party line reports to the street party working committee where there is one.
            party = units.body(street, "street_party_committee")
            return (party if u.kind == "party_committee" and party else street), None
    if u.kind in ("service_centre", "dispatch_centre"):
        return u.parent or district, None
    return district, None
