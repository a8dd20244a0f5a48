"""Demo data: a realistic Swedish municipal organisation, built deterministically (fixed seed).

The demo centres on a citizen-service unit like the one in the review that started this project: three
citizen offices (medborgarkontor) with about 39 staff — citizen guides, budget and debt advisers, hosts and
administrators — a manager per office, two safety representatives, inside a larger district administration.
Everything goes through the same import path as a real organisation file.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from pulse.domain.orgcsv import PersonRow, UnitRow

DOMAIN = "exempelstad.se"
#: The password of every demo sign-in (printed by `pulse demo` and written in the README).
DEMO_PASSWORD = "pulse-demo-2026"  # noqa: S105 - public on purpose, demo only

FIRST_NAMES = [
    "Amina", "Anders", "Anna", "Ahmed", "Aisha", "Ali", "Astrid", "Bashir", "Birgitta", "Camilla", "Daniel",
    "Deka", "Elin", "Emil", "Erik", "Fadumo", "Fatima", "Filip", "Hassan", "Hanna", "Ida", "Ibrahim", "Johan",
    "Josefin", "Karin", "Khalid", "Lars", "Leila", "Lina", "Magnus", "Maria", "Maryam", "Mats", "Mohamed",
    "Nadia", "Nils", "Omar", "Per", "Rahel", "Sara", "Samir", "Sofia", "Tesfaye", "Ulrika", "Yasmin", "Zainab",
    "Ebba", "Oskar", "Selam", "Jonas", "Lejla", "Mirela", "Goran", "Kerstin", "Mehmet", "Ayan", "Tove",
]
LAST_NAMES = [
    "Abdi", "Ahmed", "Ali", "Andersson", "Berg", "Bergström", "Dahl", "Ek", "Eriksson", "Farah", "Gustafsson",
    "Hassan", "Hussein", "Holm", "Isaksson", "Johansson", "Karlsson", "Kaya", "Larsson", "Lind", "Lundqvist",
    "Mohammed", "Mohamud", "Nilsson", "Nyström", "Olsson", "Omar", "Persson", "Rahimi", "Sandberg", "Svensson",
    "Tesfay", "Warsame", "Wikström", "Yilmaz", "Öberg", "Åberg", "Haddad", "Jovanović", "Novak", "Lindqvist",
]


@dataclass
class DemoOrg:
    units: list[UnitRow] = field(default_factory=list)
    people: list[PersonRow] = field(default_factory=list)
    #: Sign-ins to print: (role description, e-mail).
    accounts: list[tuple[str, str]] = field(default_factory=list)
    #: E-mail of the main safety representative (huvudskyddsombud), who covers units without a safety area.
    main_safety_rep: str | None = None


class _Builder:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - demo names, not secrets
        self.org = DemoOrg()
        self.emails: set[str] = set()

    def unit(self, key: str, name: str, parent: str | None) -> str:
        self.org.units.append(UnitRow(key, name, parent, 0))
        return key

    def person(self, unit: str, *, roles: tuple[str, ...] = (), manages: tuple[str, ...] = (),
               safety: tuple[str, ...] = (), status: str = "active", language: str = "sv",
               name: str | None = None) -> str:
        if name is None:
            name = f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(LAST_NAMES)}"
        base = (name.lower().replace(" ", ".").replace("å", "a").replace("ä", "a").replace("ö", "o")
                .replace("ć", "c"))
        email, n = f"{base}@{DOMAIN}", 2
        while email in self.emails:
            email, n = f"{base}{n}@{DOMAIN}", n + 1
        self.emails.add(email)
        self.org.people.append(PersonRow(email, name, unit, frozenset({"employee", *roles}), manages, safety,
                                         language, status, 0))
        return email

    def staff(self, unit: str, count: int, *, on_leave: int = 0, english: int = 0) -> None:
        for i in range(count):
            self.person(unit, status="on_leave" if i < on_leave else "active",
                        language="en" if on_leave <= i < on_leave + english else "sv")


def build_demo(seed: int = 2024) -> DemoOrg:
    """The demo organisation for ``make run``: about 130 people, the citizen-service unit in the middle."""
    b = _Builder(seed)
    root = b.unit("exempelstad", "Exempelstad", None)
    slk = b.unit("slk", "Stadsledningskontoret", root)
    hr = b.unit("slk-hr", "HR-avdelningen", slk)
    jarva = b.unit("jarva", "Järva stadsdelsförvaltning", root)
    smf = b.unit("jarva-smf", "Avdelningen för stadsutveckling, medborgarservice och fritid", jarva)
    mbk = b.unit("jarva-mbk", "Enheten för medborgarservice", smf)
    rinkeby = b.unit("mbk-rinkeby", "Medborgarkontor Rinkeby", mbk)
    tensta = b.unit("mbk-tensta", "Medborgarkontor Tensta", mbk)
    husby = b.unit("mbk-husby", "Medborgarkontor Husby", mbk)
    fritid = b.unit("jarva-fritid", "Fritidsenheten", smf)
    gard_r = b.unit("fritid-rinkeby", "Fritidsgård Rinkeby", fritid)
    gard_t = b.unit("fritid-tensta", "Fritidsgård Tensta", fritid)
    soc = b.unit("jarva-soc", "Avdelningen för socialtjänst", jarva)
    mottag = b.unit("soc-mottagning", "Mottagningsenheten", soc)
    ekbist = b.unit("soc-ekbistand", "Enheten för ekonomiskt bistånd", soc)
    amf = b.unit("amf", "Arbetsmarknadsförvaltningen", root)
    jobb = b.unit("amf-jobbtorg", "Jobbtorg Järva", amf)
    vux = b.unit("amf-vux", "Vuxenutbildning", amf)

    admin = b.person(hr, roles=("admin",), name="Ada Administratör")
    b.org.accounts.append(("administrator", admin))
    b.staff(hr, 7)
    head = b.person(mbk, roles=("manager",), manages=(mbk,), name="Helena Enhetschef")
    b.org.accounts.append(("manager of the citizen-service unit (all three offices)", head))
    # 39 staff in the three offices: a manager each (counted one level up when answering), 33 others,
    # including the two safety representatives and the demo employee below.
    for office, size, leave, label in ((rinkeby, 11, 1, "Rinkeby"), (tensta, 11, 1, "Tensta"), (husby, 10, 0, "Husby")):
        chef = b.person(office, roles=("manager",), manages=(office,), name=f"Kontorschef {label}")
        if label == "Rinkeby":
            b.org.accounts.append((f"manager of Medborgarkontor {label}", chef))
        b.staff(office, size, on_leave=leave, english=1)
    # Two safety representatives, each working in an office and covering part of the unit.
    sr1 = b.person(rinkeby, roles=("safety_rep",), safety=(rinkeby, husby), name="Samira Skyddsombud")
    sr2 = b.person(tensta, roles=("safety_rep",), safety=(tensta,), name="Sven Skyddsombud")
    b.org.accounts.append(("safety representative for Rinkeby and Husby", sr1))
    b.org.accounts.append(("safety representative for Tensta", sr2))
    b.org.main_safety_rep = sr2  # also the main safety representative: the units no safety area covers
    employee = b.person(husby, name="Elsa Medarbetare")
    b.org.accounts.append(("employee at Medborgarkontor Husby", employee))
    b.person(jarva, roles=("manager",), manages=(jarva,), name="Stadsdelsdirektör Järva")
    b.person(jarva, roles=("manager",), manages=(fritid,))
    b.staff(gard_r, 8)
    b.staff(gard_t, 6)
    b.person(soc, roles=("manager",), manages=(soc,))
    b.staff(mottag, 12, on_leave=1)
    b.staff(ekbist, 16, english=2)
    b.person(amf, roles=("manager",), manages=(amf,))
    b.staff(jobb, 11)
    b.staff(vux, 9)
    return b.org


# --- rounds ------------------------------------------------------------------------------------------------------

#: How each office tends to answer (added to a neutral 3.4 on agreement scales), and how fast things improve per
#: round: Rinkeby starts where the review found a culture of silence and gets better as actions take effect.
OFFICE_MOOD = {"mbk-rinkeby": (-0.9, 0.12), "mbk-tensta": (-0.3, 0.04), "mbk-husby": (0.2, 0.0)}
DEMO_SURVEY = "Veckopuls Järva"
HISTORY_ROUNDS = 6


def simulated_answer(rng: random.Random, scale: str, reverse: bool, mood: float) -> int | None:
    """A plausible answer on ``scale`` for someone whose workplace has ``mood`` (negative = worse)."""
    if rng.random() < 0.04:
        return None  # prefer not to say
    if scale == "yesno":
        return 0 if rng.random() > max(0.02, 0.08 - mood * 0.08) else rng.choice((1, 1, 2))
    if scale == "enps":
        return max(0, min(10, round(rng.gauss(7.0 + mood * 1.5, 2.0))))
    centre = 3.4 + (mood if not reverse else -mood * 0.8)
    return max(1, min(5, round(rng.gauss(centre, 0.9))))


DEMO_COMMENTS = [
    "Vi behöver mer tid för ärenden om ekonomiskt bistånd när trycket är högt.",
    "Bra att vi fick en rutin för hot och våld i receptionen.",
    "Svårt att hinna med dokumentationen när kön är lång.",
    "Jag vill att vi pratar om hur vi fördelar telefontiden på nästa APT.",
    "Skönt att synpunktslådan töms varje vecka nu.",
    "Mer stöd när nya arbetsuppgifter kommer till utan förklaring.",
]
