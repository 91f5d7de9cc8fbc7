"""What generated calls say: one short script per agent topic, with slots Faker fills.

A script is a list of steps. `Say` is a line one side speaks, with alternatives the generator
picks between; `Tool` is a function the agent calls after the preceding line, with its result.
Slots in braces come from `slots()` in the generator, so the tool arguments and what the people
say always agree. A tool's result is the JSON it returned, written compact (as Retell shows it)
so that filling its slots gives the result as sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sandbox.calls.model import Role


@dataclass(frozen=True, slots=True)
class Say:
    role: Role
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    arguments: Mapping[str, str]
    result: str


Step = Say | Tool


def agent(*lines: str) -> Say:
    return Say("agent", lines)


def user(*lines: str) -> Say:
    return Say("user", lines)


OPENING_OUTBOUND = agent(
    "Hi, this is {agent_first} calling from {company}. Am I speaking with {caller_first}?",
    "Hello, it's {agent_first} from {company}. Is this {caller_first}?",
)
OPENING_INBOUND = agent(
    "Thank you for calling {company}, this is {agent_first}. How can I help you today?",
    "Hi, you've reached {company}. My name is {agent_first}, what can I do for you?",
)
CONFIRM_IDENTITY = user("Yes, this is {caller_first}.", "Speaking, yes.")

SCRIPTS: Mapping[str, tuple[Step, ...]] = {
    "appointment": (
        user(
            "I'd like to book an appointment with {doctor}, if there's anything this week.",
            "I need to see {doctor}. Do you have any openings soon?",
        ),
        agent("Of course. Let me check {doctor}'s calendar for you, one moment."),
        Tool(
            "check_availability",
            {"provider": "{doctor}", "date": "{date_iso}"},
            '{{"available_slots":["{time}","{time_alt}"],"date":"{date_iso}"}}',
        ),
        agent(
            "I have {time} or {time_alt} on {date_spoken}. Which works better for you?",
            "{doctor} is free on {date_spoken} at {time} or at {time_alt}. Would either suit you?",
        ),
        user("{time} works for me.", "Let's do {time}, please."),
        Tool(
            "book_appointment",
            {"provider": "{doctor}", "date": "{date_iso}", "time": "{time}", "patient": "{caller}"},
            '{{"confirmation":"{confirmation}","status":"booked"}}',
        ),
        agent(
            "You're booked with {doctor} on {date_spoken} at {time}. "
            "Your confirmation number is {confirmation}."
        ),
        user("Perfect, thank you so much.", "Great, thanks for your help."),
        agent("You're welcome, {caller_first}. Have a great day!"),
    ),
    "delivery": (
        user(
            "I'm calling about my order, it hasn't arrived yet. The order number is {order}.",
            "Hi, I'm checking on a delivery. Order {order}.",
        ),
        agent("Thanks, let me look that up for you."),
        Tool(
            "track_order",
            {"order_number": "{order}"},
            '{{"order_number":"{order}","status":"out_for_delivery",'
            '"eta":"{date_iso}","carrier":"{carrier}"}}',
        ),
        agent(
            "Your order {order} is out for delivery with {carrier} and should arrive on "
            "{date_spoken}.",
        ),
        user("Can they leave it at the side door on {street}?", "Will I need to sign for it?"),
        agent(
            "I've added a note for the driver. You'll get a text when it's close.",
            "No signature is needed; the driver will leave it safely at {street}.",
        ),
        user("Okay, that's great. Thanks.", "Alright, thank you."),
        agent("Happy to help. Enjoy the rest of your day, {caller_first}."),
    ),
    "renewal": (
        user("Oh, hi. What is this about?", "Yes, what's this regarding?"),
        agent(
            "Your {plan} plan renews on {date_spoken}. I wanted to check whether you'd like "
            "to keep it, or switch to annual billing and save {discount} percent."
        ),
        user(
            "How much would the annual plan cost?",
            "I might be interested. What's the annual price?",
        ),
        Tool(
            "get_renewal_quote",
            {"account_id": "{account}", "plan": "{plan}", "billing": "annual"},
            '{{"account_id":"{account}","annual_price":"{amount}","currency":"USD"}}',
        ),
        agent("The annual {plan} plan would be {amount} dollars for the year."),
        user("Okay, let's switch to annual.", "Sure, go ahead and switch me over."),
        Tool(
            "update_subscription",
            {"account_id": "{account}", "billing": "annual"},
            '{{"account_id":"{account}","status":"updated","renews_on":"{date_iso}"}}',
        ),
        agent("Done. You'll receive a confirmation email at {email} shortly."),
        user("Thanks for the call.", "Great, thank you."),
        agent("Thank you for staying with {company}, {caller_first}. Goodbye!"),
    ),
    "billing": (
        user(
            "I have a question about my last bill. It looks higher than usual.",
            "I was charged {amount} dollars and I don't understand why.",
        ),
        agent("I can help with that. Could you confirm the last four digits of your card?"),
        user("It's {last4}.", "Sure, {last4}."),
        Tool(
            "lookup_invoice",
            {"account_id": "{account}", "card_last4": "{last4}"},
            '{{"invoice":"{invoice}","amount":"{amount}","reason":"late fee"}}',
        ),
        agent(
            "Thanks. Invoice {invoice} was {amount} dollars, including a one-time late fee. "
            "As a courtesy, I can waive that fee today."
        ),
        user("Yes, please do that.", "That would be great, thanks."),
        agent("The fee is waived and you'll see the credit within three business days."),
        user("Thank you.", "Appreciate it."),
        agent("You're welcome, {caller_first}. Anything else I can help with? Have a good one."),
    ),
    "support": (
        user(
            "My internet keeps dropping out every few minutes since yesterday.",
            "My router isn't connecting anymore and I work from home.",
        ),
        agent("Sorry to hear that. Let me run a quick check on your line."),
        Tool(
            "run_line_diagnostics",
            {"account_id": "{account}"},
            '{{"line_status":"degraded","outage_nearby":false}}',
        ),
        agent(
            "I see some signal issues on your line. Could you restart your router while "
            "I stay on the call?"
        ),
        user("Okay, it's restarting now. Alright, the lights are back.", "Done, it's back on."),
        Tool(
            "create_ticket",
            {"account_id": "{account}", "issue": "intermittent connection"},
            '{{"ticket_id":"{ticket}","priority":"normal"}}',
        ),
        agent(
            "Your connection looks stable now. I've opened ticket {ticket} in case it "
            "happens again."
        ),
        user("Thanks, that's helpful.", "Great, thanks."),
        agent("Glad I could help, {caller_first}. Goodbye!"),
    ),
}

VOICEMAIL_GREETING = user(
    "Hi, you've reached {caller_first}. I can't take your call right now, please leave a "
    "message after the tone.",
    "The person you are trying to reach is not available. Please leave a message after the tone.",
)
VOICEMAIL_MESSAGE: Mapping[str, Say] = {
    "appointment": agent(
        "Hi {caller_first}, this is {agent_first} from {company} about scheduling your visit "
        "with {doctor}. Please call us back at {callback}. Thank you!"
    ),
    "delivery": agent(
        "Hi {caller_first}, this is {agent_first} from {company} about order {order}. "
        "Please call us back at {callback}. Thanks!"
    ),
    "renewal": agent(
        "Hi {caller_first}, it's {agent_first} from {company} about your {plan} plan renewal. "
        "Give us a call back at {callback} when you can."
    ),
    "billing": agent(
        "Hi {caller_first}, this is {agent_first} from {company} about your recent invoice. "
        "Please call us at {callback}."
    ),
    "support": agent(
        "Hi {caller_first}, {agent_first} from {company} following up on your support ticket. "
        "Call us at {callback} any time."
    ),
}
TRANSFER_REQUEST = user(
    "Actually, could I speak to a person, please?",
    "I'd rather talk to someone on your team, if that's okay.",
)
TRANSFER_ANNOUNCE = agent("Of course. I'm transferring you to a colleague now, please hold.")
TRANSFER_TOOL = Tool(
    "transfer_call",
    {"destination": "{transfer_to}", "reason": "caller asked for a human"},
    '{{"status":"transferring","destination":"{transfer_to}"}}',
)

SUMMARIES: Mapping[str, str] = {
    "appointment": "{caller} booked an appointment with {doctor} on {date_spoken} at {time}.",
    "delivery": "{caller} asked about order {order}; it is out for delivery with {carrier}.",
    "renewal": "{caller} switched the {plan} plan to annual billing at {amount} USD.",
    "billing": "{caller} queried invoice {invoice}; the late fee was waived.",
    "support": "{caller} reported connection drops; ticket {ticket} was opened.",
}
VOICEMAIL_SUMMARY = "The call reached {caller}'s voicemail and the agent left a callback message."
TRANSFER_SUMMARY = "{caller} asked to speak with a person and was transferred to {transfer_to}."
