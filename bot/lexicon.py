"""Words that mean the same thing in a customer conversation.

A message about "the bouquets we sent" shares no word with a playbook example
about "the swag box"; both share the concept of a gift. Each word below adds a
concept feature (`@gift`) next to itself, so the examples of one playbook teach
the matcher about every word of the concept. Only the concept is shared: what
it means for a situation is still learnt from the playbooks' examples.
"""

from __future__ import annotations

from bot.text import stem

CONCEPTS: dict[str, str] = {
    "customer": "customer customers client clients prospect prospects buyer buyers shopper "
    "shoppers patient patients guest guests subscriber subscribers consumer purchaser "
    "clientele",
    "upset": "angry upset furious livid mad frustrated frustration annoyed irate heated "
    "disappointed disappointing unhappy complaint complaints complain complained complaining "
    "rant ranting yelling yelled shouting shouted outraged pissed fuming regret regrets "
    "unacceptable ignored blamed escalated escalation escalate tears crying screaming "
    "scathing nightmare",
    "leave": "cancel cancelling canceling cancellation churn churning leaving walk walking "
    "quit quitting terminate termination refund refunds chargeback alternatives",
    "praise": "thanks thanked thankful grateful gratitude praise praised kudos shoutout "
    "delighted thrilled glowing compliment compliments complimented raving rave loved "
    "loves amazing awesome fantastic wonderful brilliant stellar happy pleased impressed "
    "testimonial",
    "win": "won win wins closed signed closedwon celebrate celebrating champagne",
    "gift": "gift gifts gifted swag hoodie hoodies mug mugs tshirt tshirts shirts bouquet "
    "bouquets flowers chocolate chocolates wine cookies hamper hampers basket baskets "
    "mailer mailers goodies present presents merch merchandise keepsake package packages "
    "parcel parcels calendar calendars notebook notebooks socks candles",
    "shipping": "shipped shipping ship delivery delivered deliver courier mailed mailing "
    "arrived arrive arrival lost missing returned tracking fedex ups dhl postage address "
    "addresses",
    "money": "price prices pricing priced cost costs costly expensive cheap cheaper "
    "cheapest steep pricey budget budgets money fee fees quote quoted quotes bid bids "
    "discount discounts afford affordable overpriced dollars rate rates invoice number "
    "numbers markup margin",
    "rival": "competitor competitors competition rival rivals vendor vendors incumbent",
    "risk": "risk risks risky worried worry worries nervous afraid fear fears concern "
    "concerned concerns proof guarantee reassurance reassure burned burnt hesitant "
    "hesitating cautious skeptical sceptical doubts",
    "decision": "decision decide deciding decided committee board approval approve signoff "
    "cfo ceo cio cto coo executive executives exec execs stakeholders procurement legal "
    "soc2 evaluation evaluating rfp shortlist shortlisted",
    "event": "booth booths stand expo trade tradeshow conference conferences summit fair "
    "exhibitor exhibitors exhibition pavilion roadshow meetup meetups webinar convention "
    "kiosk showcase",
    "online": "comment comments commented review reviews reviewed tweet tweets tweeted "
    "posted thread reddit linkedin twitter facebook instagram insta tiktok youtube g2 "
    "capterra trustpilot yelp forum blog viral replies reply stars publicly public",
    "asked": "asked asking asks question questions inquiry enquiry inquiries interested "
    "wondering voicemail emailed reached dm dmed contacted",
    "handoff": "handoff handover hand handing pass passing passed reassign reassigned "
    "transfer transferring takeover territory ownership covering cover",
    "lead": "lead leads mql mqls sql sdr sdrs bdr ae pipeline inbound opportunity opp "
    "opps",
    "feature": "feature features integration integrations roadmap wishlist suggestion "
    "suggestions idea ideas feedback enhancement",
    "problem": "error errors bug bugs broken crash crashes crashing issue issues problem "
    "problems stuck failing fails failed login password setup configure configuring "
    "troubleshoot howto confused",
    "new": "kickoff kick onboarding onboard implementation welcome golive launch "
    "newly first",
    "renewal": "renewal renewals renew renewing renews expires expiring expiry expire "
    "upsell upselling expansion expand expanding seats upgrade upgrading tier term",
    "call": "call calls called calling meeting meetings zoom demo demos walkthrough qbr "
    "checkin debrief recap notes minutes hung wrapped",
}

SPOKEN: dict[str, str] = {
    "customer": "a customer", "upset": "frustration", "leave": "cancelling or a refund",
    "praise": "praise", "win": "a win", "gift": "a gift", "shipping": "a delivery",
    "money": "price", "rival": "a competitor", "risk": "a worry", "decision": "a decision",
    "event": "an event", "online": "a public post or review", "asked": "a question",
    "handoff": "a handover", "lead": "a lead", "feature": "a feature request",
    "problem": "a problem", "new": "getting started", "renewal": "a renewal", "call": "a call",
}
"""Each concept as a person would say it, for the one-line reason an answer gives."""

_WORD_CONCEPTS: dict[str, tuple[str, ...]] = {}
for _concept, _words in CONCEPTS.items():
    for _word in _words.split():
        key = stem(_word)
        _WORD_CONCEPTS[key] = tuple(sorted({*_WORD_CONCEPTS.get(key, ()), f"@{_concept}"}))


def concepts(stem_: str) -> tuple[str, ...]:
    """The concept features of one stemmed word (usually none)."""
    return _WORD_CONCEPTS.get(stem_, ())
