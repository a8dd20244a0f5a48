"""question bank: the shipped questions, installed by the migrations rather than by the demo

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 09:00:00

Until now only `pulse demo` installed the question bank, so a production database had no questions and
`pulse survey create` failed with `unknown_question`. This revision adds the bank as shipped today, each item as
version 1 where no question has its code yet; questions already there (installed by the demo, or edited by the
organisation) are left as they are.

The items are copied here, not read from `pulse/questionbank.py`, so this revision never changes when the bank
does. Shipping new wording later is a new migration (see the docstring of `pulse/questionbank.py`):

    from pulse.domain.questionbank import BankQuestion
    from pulse.services.questions import install_shipped, uninstall_shipped

    OLD = {"OSA-WL1": BankQuestion("OSA-WL1", ..., version=1)}    # copied from this file
    NEW = (BankQuestion("OSA-WL1", ..., version=2),)               # the new wording

    def upgrade() -> None:
        install_shipped(op.get_bind(), NEW, replaces=OLD)

    def downgrade() -> None:
        uninstall_shipped(op.get_bind(), NEW, replaces=OLD)

Downgrading removes only shipped questions nobody edited and no round asked (nor a survey names).
"""

from __future__ import annotations

from alembic import op

from pulse.domain.questionbank import BankQuestion
from pulse.services.questions import install_shipped, uninstall_shipped

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

HME_ATTRIBUTION = ("Hållbart medarbetarengagemang (HME), Sveriges Kommuner och Regioner (SKR). Kommuner och regioner "
                   "får använda de nio frågorna kostnadsfritt; resultat kan jämföras i Kolada.")

#: The bank as shipped with this revision (version 1 of every item).
SHIPPED = (
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
        "I am expected to answer work calls or work e-mail outside my working hours.",
        reverse=True),
    BankQuestion("OSA-IN1", "influence", "agree5",
        "Jag kan påverka hur mitt arbete planeras och görs.",
        "I can influence how my work is planned and done."),
    BankQuestion("OSA-SP1", "speaking_up", "agree5",
        "På min arbetsplats kan man ta upp problem utan att vara rädd för följderna.",
        "At my workplace, people can raise problems without being afraid of what happens next."),
    BankQuestion("OSA-VI1", "victimisation", "yesno",
        "Har du under de senaste veckorna blivit utsatt för kränkande särbehandling på jobbet? Det betyder att "
        "någon upprepade gånger behandlar dig illa, till exempel förlöjligar dig, fryser ut dig eller kritiserar "
        "dig orättvist.",
        "In the past few weeks, have you been victimised at work? This means that someone repeatedly treats you "
        "badly, for example by ridiculing you, shutting you out or criticising you unfairly.",
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
        "Finns det något i arbetsmiljön som du vill att vi tar upp på nästa arbetsplatsträff (APT)? Skriv inga namn.",
        "Is there anything about the work environment you would like us to raise at the next workplace meeting "
        "(APT)? Do not write any names."),
    BankQuestion("HME-1", "hme_motivation", "agree5",
        "Mitt arbete känns meningsfullt.",
        "My work feels meaningful.",
        pack="hme", attribution=HME_ATTRIBUTION),
    BankQuestion("HME-2", "hme_motivation", "agree5",
        "Jag lär nytt och utvecklas i mitt dagliga arbete.",
        "I learn new things and develop in my daily work.",
        pack="hme", attribution=HME_ATTRIBUTION),
    BankQuestion("HME-3", "hme_motivation", "agree5",
        "Jag ser fram emot att gå till arbetet.",
        "I look forward to going to work.",
        pack="hme", attribution=HME_ATTRIBUTION),
    BankQuestion("HME-4", "hme_leadership", "agree5",
        "Min närmaste chef visar uppskattning för mina arbetsinsatser.",
        "My immediate manager shows appreciation for my work.",
        pack="hme", attribution=HME_ATTRIBUTION),
    BankQuestion("HME-5", "hme_leadership", "agree5",
        "Min närmaste chef visar förtroende för mig som medarbetare.",
        "My immediate manager shows trust in me as an employee.",
        pack="hme", attribution=HME_ATTRIBUTION),
    BankQuestion("HME-6", "hme_leadership", "agree5",
        "Min närmaste chef ger mig förutsättningar att ta ansvar i mitt arbete.",
        "My immediate manager gives me what I need to take responsibility in my work.",
        pack="hme", attribution=HME_ATTRIBUTION),
    BankQuestion("HME-7", "hme_governance", "agree5",
        "Jag är insatt i min arbetsplats mål.",
        "I am familiar with my workplace's goals.",
        pack="hme", attribution=HME_ATTRIBUTION),
    BankQuestion("HME-8", "hme_governance", "agree5",
        "Min arbetsplats mål följs upp och utvärderas på ett bra sätt.",
        "My workplace's goals are followed up and evaluated well.",
        pack="hme", attribution=HME_ATTRIBUTION),
    BankQuestion("HME-9", "hme_governance", "agree5",
        "Jag vet vad som förväntas av mig i mitt arbete.",
        "I know what is expected of me in my work.",
        pack="hme", attribution=HME_ATTRIBUTION),
)


def upgrade() -> None:
    install_shipped(op.get_bind(), SHIPPED)


def downgrade() -> None:
    uninstall_shipped(op.get_bind(), SHIPPED)
