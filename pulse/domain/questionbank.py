"""The question bank Pulse ships: own-wording OSA items (free to use under Pulse's licence) and SKR's nine
HME items as an optional, attributed pack.

The OSA items follow the areas of AFS 2023:2 (organisational and social work environment): workload,
priorities, support, recovery, working hours and reachability, influence, victimisation, threats and violence —
plus speaking up without fear and feedback on actions, which the review behind Pulse found missing. COPSOQ
wording is deliberately not used (its licence forbids modification and commercial use).

The migrations install this bank (``migrations/versions/0005_question_bank.py``), so a production database has it
without the demo. ``BANK`` is the bank as it is shipped *now*; each migration keeps its own copy of the items it
ships, so a revision never changes when this file does. To change shipped wording later:

1. here, change the item and raise its ``version`` (``version=2``);
2. add a migration that calls :func:`pulse.services.questions.install_shipped` with a copy of the new item and,
   in ``replaces``, a copy of the version it replaces (from the migration that shipped it), and whose downgrade
   calls :func:`pulse.services.questions.uninstall_shipped` with the same arguments.

The new version then becomes current only where the replaced one is still current and untouched: wording an
organisation edited is its own and stays. A new item is shipped the same way, with ``version=1`` and no
``replaces``. ``tests/integration/test_migrations.py`` checks that the migrated bank equals ``BANK``.
"""

from __future__ import annotations

from dataclasses import dataclass

from pulse.domain.scales import N_

#: Area code → label msgid. Results group questions by area.
AREAS: dict[str, str] = {
    "workload": N_("Workload"),
    "priorities": N_("Priorities"),
    "support": N_("Support"),
    "recovery": N_("Recovery"),
    "reachability": N_("Working hours and reachability"),
    "influence": N_("Influence"),
    "speaking_up": N_("Speaking up"),
    "victimisation": N_("Victimisation"),
    "threats": N_("Threats and violence"),
    "feedback": N_("Feedback on actions"),
    "engagement": N_("Recommending the workplace"),
    "apt": N_("For the workplace meeting"),
    "hme_motivation": N_("HME: motivation"),
    "hme_leadership": N_("HME: leadership"),
    "hme_governance": N_("HME: governance"),
}

HME_ATTRIBUTION = ("Hållbart medarbetarengagemang (HME), Sveriges Kommuner och Regioner (SKR). Kommuner och regioner "
                   "får använda de nio frågorna kostnadsfritt; resultat kan jämföras i Kolada.")


@dataclass(frozen=True)
class BankQuestion:
    code: str
    area: str
    scale: str
    sv: str
    en: str
    allow_skip: bool = True
    sensitive: bool = False
    reverse: bool = False
    pack: str = "osa"
    attribution: str | None = None
    #: The shipped version: raised (and shipped by a new migration) whenever the wording or settings change.
    version: int = 1


BANK: tuple[BankQuestion, ...] = (
    BankQuestion("OSA-WL1", "workload", "agree5",
                 "Jag hinner med mina arbetsuppgifter under min vanliga arbetstid.",
                 "I can get my work done within my normal working hours."),
    BankQuestion("OSA-WL2", "workload", "agree5",
                 "Min arbetsbelastning har varit rimlig de senaste veckorna.",
                 "My workload has been reasonable over the past few weeks."),
    BankQuestion("OSA-PR1", "priorities", "agree5",
                 "Jag vet vad jag ska prioritera när tiden inte räcker till.",
                 "I know what to put first when there is not enough time."),
    BankQuestion("OSA-SU1", "support", "agree5",
                 "Jag vet vem jag kan vända mig till för att få hjälp och stöd i arbetet.",
                 "I know who to turn to for help and support in my work."),
    BankQuestion("OSA-RC1", "recovery", "agree5",
                 "Jag har kunnat vila upp mig mellan arbetsdagarna.",
                 "I have been able to rest and recover between working days."),
    BankQuestion("OSA-RE1", "reachability", "freq5",
                 "Jag förväntas svara på jobbsamtal eller jobbmejl utanför min arbetstid.",
                 "I am expected to answer work calls or work e-mail outside my working hours.", reverse=True),
    BankQuestion("OSA-IN1", "influence", "agree5",
                 "Jag kan påverka hur mitt arbete planeras och görs.",
                 "I can influence how my work is planned and done."),
    BankQuestion("OSA-SP1", "speaking_up", "agree5",
                 "På min arbetsplats kan man ta upp problem utan att vara rädd för följderna.",
                 "At my workplace, people can raise problems without being afraid of what happens next."),
    BankQuestion("OSA-VI1", "victimisation", "yesno",
                 "Har du under de senaste veckorna blivit utsatt för kränkande särbehandling på jobbet? Det betyder "
                 "att någon upprepade gånger behandlar dig illa, till exempel förlöjligar dig, fryser ut dig eller "
                 "kritiserar dig orättvist.",
                 "In the past few weeks, have you been victimised at work? This means that someone repeatedly treats "
                 "you badly, for example by ridiculing you, shutting you out or criticising you unfairly.",
                 sensitive=True),
    BankQuestion("OSA-VI2", "victimisation", "agree5",
                 "Jag vet vart jag ska vända mig om jag eller en kollega blir illa behandlad på jobbet.",
                 "I know where to turn if I or a colleague is treated badly at work."),
    BankQuestion("OSA-TH1", "threats", "yesno",
                 "Har du under de senaste veckorna blivit hotad eller utsatt för våld i arbetet?",
                 "In the past few weeks, have you been threatened or met with violence at work?",
                 sensitive=True),
    BankQuestion("OSA-TH2", "threats", "agree5",
                 "Jag känner mig trygg när jag möter besökare i arbetet.",
                 "I feel safe when I meet visitors in my work."),
    BankQuestion("OSA-FB1", "feedback", "agree5",
                 "Jag har fått veta vad som har gjorts efter resultaten från förra mätningen.",
                 "I have been told what was done after the results of the last survey."),
    BankQuestion("OSA-NPS", "engagement", "enps",
                 "Hur troligt är det att du skulle rekommendera din arbetsplats till en vän som söker jobb?",
                 "How likely is it that you would recommend your workplace to a friend looking for a job?"),
    BankQuestion("OSA-APT", "apt", "text",
                 "Finns det något i arbetsmiljön som du vill att vi tar upp på nästa arbetsplatsträff (APT)? Skriv "
                 "inga namn.",
                 "Is there anything about the work environment you would like us to raise at the next workplace "
                 "meeting (APT)? Do not write any names."),
    # SKR's HME items (Hållbart medarbetarengagemang). Swedish wording as SKR publishes it; English is ours.
    BankQuestion("HME-1", "hme_motivation", "agree5", "Mitt arbete känns meningsfullt.",
                 "My work feels meaningful.", pack="hme", attribution=HME_ATTRIBUTION),
    BankQuestion("HME-2", "hme_motivation", "agree5", "Jag lär nytt och utvecklas i mitt dagliga arbete.",
                 "I learn new things and develop in my daily work.", pack="hme", attribution=HME_ATTRIBUTION),
    BankQuestion("HME-3", "hme_motivation", "agree5", "Jag ser fram emot att gå till arbetet.",
                 "I look forward to going to work.", pack="hme", attribution=HME_ATTRIBUTION),
    BankQuestion("HME-4", "hme_leadership", "agree5",
                 "Min närmaste chef visar uppskattning för mina arbetsinsatser.",
                 "My immediate manager shows appreciation for my work.", pack="hme", attribution=HME_ATTRIBUTION),
    BankQuestion("HME-5", "hme_leadership", "agree5",
                 "Min närmaste chef visar förtroende för mig som medarbetare.",
                 "My immediate manager shows trust in me as an employee.", pack="hme",
                 attribution=HME_ATTRIBUTION),
    BankQuestion("HME-6", "hme_leadership", "agree5",
                 "Min närmaste chef ger mig förutsättningar att ta ansvar i mitt arbete.",
                 "My immediate manager gives me what I need to take responsibility in my work.", pack="hme",
                 attribution=HME_ATTRIBUTION),
    BankQuestion("HME-7", "hme_governance", "agree5", "Jag är insatt i min arbetsplats mål.",
                 "I am familiar with my workplace's goals.", pack="hme", attribution=HME_ATTRIBUTION),
    BankQuestion("HME-8", "hme_governance", "agree5",
                 "Min arbetsplats mål följs upp och utvärderas på ett bra sätt.",
                 "My workplace's goals are followed up and evaluated well.", pack="hme",
                 attribution=HME_ATTRIBUTION),
    BankQuestion("HME-9", "hme_governance", "agree5",
                 "Jag vet vad som förväntas av mig i mitt arbete.",
                 "I know what is expected of me in my work.", pack="hme", attribution=HME_ATTRIBUTION),
)

#: The set a new survey starts with: one item per OSA area, short enough for two minutes.
DEFAULT_PULSE = ("OSA-WL1", "OSA-PR1", "OSA-SU1", "OSA-RC1", "OSA-IN1", "OSA-SP1", "OSA-VI1", "OSA-TH1",
                 "OSA-FB1")

#: Area code → two or three questions for the workplace meeting (APT) to talk about when the area is a concern
#: (msgids, translated where shown). Open questions about the work, never about who answered what: the pack
#: offers them and the manager may edit them before printing.
DISCUSSION: dict[str, tuple[str, ...]] = {
    "workload": (N_("Which tasks take more time than we have planned for?"),
                 N_("What could we stop doing, do later or do differently?"),
                 N_("When the workload peaks, how do we help each other?")),
    "priorities": (N_("When there is not enough time, what do we put first today?"),
                   N_("Who decides the priorities, and how do we hear about them?"),
                   N_("What would make it easier to know what can wait?")),
    "support": (N_("Where do we turn for help with a difficult task or situation?"),
                N_("What kind of support do we miss in our daily work?"),
                N_("How can we make it easier to ask for help?")),
    "recovery": (N_("What makes it hard to rest and recover between working days?"),
                 N_("Are breaks and rest between shifts possible in practice?"),
                 N_("What could we change in the schedule or the way we work?")),
    "reachability": (N_("Which calls or e-mails outside working hours really cannot wait?"),
                     N_("What do we agree on about being reachable after work?"),
                     N_("How do we hand over so that nobody has to answer in their free time?")),
    "influence": (N_("In which decisions about our work would we like to have more say?"),
                  N_("How are we asked before changes that affect our work?"),
                  N_("What could we plan together instead of being told?")),
    "speaking_up": (N_("What makes it hard to raise a problem here?"),
                    N_("How do we want problems to be received when someone raises them?"),
                    N_("Where can a problem be raised if it is hard to do it in the group?")),
    "victimisation": (N_("Do we all know the routine for victimisation and where to turn?"),
                      N_("How do we treat each other when we disagree?"),
                      N_("What do we do if we see a colleague being treated badly?")),
    "threats": (N_("In which situations do we feel unsafe at work?"),
                N_("Do we know the routine for threats and violence, and does it work in practice?"),
                N_("What would make meeting visitors safer?")),
    "feedback": (N_("What came of the last results, and did we hear about it?"),
                 N_("How do we want to be told what is being done?"),
                 N_("Which action from last time should we follow up now?")),
    "engagement": (N_("What makes this a good place to work?"),
                   N_("What would we change first to make it better?")),
    "hme_motivation": (N_("What makes the work feel meaningful, and what gets in the way?"),
                       N_("Where do we learn from each other, and where would we like to learn more?")),
    "hme_leadership": (N_("How do we want appreciation and trust to show in everyday work?"),
                       N_("What do we need from our manager to take responsibility in our work?")),
    "hme_governance": (N_("Which of our goals are clear to everyone, and which are not?"),
                       N_("How do we follow up our goals together?")),
}
#: For an area without questions of its own.
DISCUSSION_DEFAULT: tuple[str, ...] = (N_("What lies behind this result, as we see it?"),
                                       N_("What could we try before the next round?"))
