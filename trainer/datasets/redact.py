"""PII redaction before anything leaves the store.

Replaced with placeholders: credentials (the core's secret patterns: bot tokens, Slack tokens,
bearer tokens, every secret the running config names), e-mail addresses, IBANs, payment card
numbers (Luhn-checked), national id numbers (US SSN, UK National Insurance number) and phone
numbers. Text is normalised first (NFKC, Unicode format characters such as zero-width spaces
dropped) so that look-alike digits, full-width signs and invisible characters do not hide a match.

Not redacted (see docs/security.md): names, postal addresses, dates of birth, free-text
descriptions of a person, and numbers in formats not listed above.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from interplay.core.redaction import MASK
from interplay.core.redaction import redact as mask_secrets

SECRET = "[secret]"
EMAIL = "[email]"
IBAN = "[iban]"
CARD = "[card]"
NATIONAL_ID = "[national-id]"
PHONE = "[phone]"

# "jo.doe@example.com", also written "jo.doe (at) example (dot) com"
_AT = r"\s*(?:@|\((?:at)\)|\[(?:at)\])\s*"
_DOT = r"(?:\.|\s*\((?:dot)\)\s*|\s*\[(?:dot)\]\s*)"
_EMAIL = re.compile(rf"[\w.+-]+{_AT}[\w-]+(?:{_DOT}[\w-]+)+", re.IGNORECASE)
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ .-]?[A-Z0-9]){11,30}\b", re.IGNORECASE)
# 13-19 digits, optionally in groups split by spaces, dashes, dots or slashes (how people type them)
_CARD = re.compile(r"(?<![\w+])\d(?:[ ./-]?\d){12,18}(?!\w)")
_SSN = re.compile(r"(?<![\w-])(?!000|666|9\d\d)\d{3}[- .](?!00)\d{2}[- .](?!0000)\d{4}(?![\w-])")
_NINO = re.compile(r"\b(?![DFIQUV])[A-Z](?![DFIOQUV])[A-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b", re.IGNORECASE)
# a phone-shaped run: optional +, digits with spaces, dots, dashes or brackets between them
_PHONE = re.compile(r"(?<![\w+])(?:\+|00)?\(?\d[\d\s().-]{5,}\d(?!\w)")
_DATE = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}$")
_TIME_RANGE = re.compile(r"^\d{1,2}[.:]\d{2}\s*-\s*\d{1,2}[.:]\d{2}$")


def normalize(text: str) -> str:
    """NFKC (full-width and other compatibility forms to plain ones), format characters (Cf) removed."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def luhn_valid(digits: str) -> bool:
    """The check digit scheme every payment card number follows."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def iban_valid(candidate: str) -> bool:
    """ISO 13616: letters become 10..35, the country and check digits move to the end, mod 97 is 1."""
    compact = re.sub(r"[ .-]", "", candidate).upper()
    if not 15 <= len(compact) <= 34:
        return False
    digits = "".join(str(int(ch, 36)) for ch in compact[4:] + compact[:4])
    return int(digits) % 97 == 1


def _card_valid(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    return 13 <= len(digits) <= 19 and luhn_valid(digits)


@dataclass
class Redactor:
    """Replaces PII with placeholders and counts what it replaced (for the dataset's record)."""

    counts: Counter[str] = field(default_factory=Counter)

    def __call__(self, text: str) -> str:
        text = normalize(text)
        masked = mask_secrets(text)
        if masked != text:
            self.counts[SECRET] += masked.count(MASK) - text.count(MASK)
            text = masked.replace(MASK, SECRET)
        text = _EMAIL.sub(self._tally(EMAIL), text)
        text = _IBAN.sub(self._checked(IBAN, iban_valid), text)
        text = _CARD.sub(self._checked(CARD, _card_valid), text)
        text = _SSN.sub(self._tally(NATIONAL_ID), text)
        text = _NINO.sub(self._tally(NATIONAL_ID), text)
        return _PHONE.sub(self._phone, text)

    def _tally(self, placeholder: str) -> Callable[[re.Match[str]], str]:
        def replace(match: re.Match[str]) -> str:
            self.counts[placeholder] += 1
            return placeholder

        return replace

    def _checked(self, placeholder: str, valid: Callable[[str], bool]) -> Callable[[re.Match[str]], str]:
        """Replace the longest prefix of the match that passes `valid` (a run may go on past the number)."""

        def replace(match: re.Match[str]) -> str:
            text = match.group()
            ends = [i for i in range(len(text), 0, -1) if text[i - 1].isalnum()
                    and (i == len(text) or not text[i].isalnum())]
            for end in ends:
                if valid(text[:end]):
                    self.counts[placeholder] += 1
                    return placeholder + text[end:]
            return text  # long numbers that fail the check (order ids) may still be phones

        return replace

    def _phone(self, match: re.Match[str]) -> str:
        raw = match.group().strip()
        digits = re.sub(r"\D", "", raw)
        if not 7 <= len(digits) <= 15 or _DATE.match(raw) or _TIME_RANGE.match(raw):
            return match.group()
        self.counts[PHONE] += 1
        return PHONE


def redact(text: str) -> str:
    """`text` with credentials, e-mail addresses, IBANs, card, id and phone numbers replaced."""
    return Redactor()(text)
