"""PII redaction before anything leaves the store: e-mail addresses, phone numbers, card numbers."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

EMAIL = "[email]"
PHONE = "[phone]"
CARD = "[card]"

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# 13-19 digits, optionally in groups split by spaces or dashes (how people type card numbers)
_CARD = re.compile(r"(?<![\w+])\d(?:[ -]?\d){12,18}(?!\w)")
# a phone-shaped run: optional +, digits with spaces, dots, dashes or brackets between them
_PHONE = re.compile(r"(?<![\w+])(?:\+|00)?\(?\d[\d\s().-]{5,}\d(?!\w)")
_DATE = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}$")
_TIME_RANGE = re.compile(r"^\d{1,2}[.:]\d{2}\s*-\s*\d{1,2}[.:]\d{2}$")


def luhn_valid(digits: str) -> bool:
    """The check digit scheme every payment card number follows."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


@dataclass
class Redactor:
    """Replaces PII with placeholders and counts what it replaced (for the dataset's record)."""

    counts: Counter[str] = field(default_factory=Counter)

    def __call__(self, text: str) -> str:
        text = _EMAIL.sub(self._tally(EMAIL), text)
        text = _CARD.sub(self._card, text)
        return _PHONE.sub(self._phone, text)

    def _tally(self, placeholder: str) -> object:
        def replace(match: re.Match[str]) -> str:
            self.counts[placeholder] += 1
            return placeholder

        return replace

    def _card(self, match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group())
        if not luhn_valid(digits):
            return match.group()  # long numbers that are not card numbers (order ids) may be phones
        self.counts[CARD] += 1
        return CARD

    def _phone(self, match: re.Match[str]) -> str:
        raw = match.group().strip()
        digits = re.sub(r"\D", "", raw)
        if not 7 <= len(digits) <= 15 or _DATE.match(raw) or _TIME_RANGE.match(raw):
            return match.group()
        self.counts[PHONE] += 1
        return PHONE


def redact(text: str) -> str:
    """`text` with e-mail addresses, phone numbers and card numbers replaced by placeholders."""
    return Redactor()(text)
