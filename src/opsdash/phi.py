"""Patient identifiers, by meaning: which headers name one and which values look like one.

KPIs need no patient identity (HIPAA's minimum necessary). Two declarations, both data, feed the loader, the
validation SQL and docs/data-contract.md:

- ``CONCEPTS``: the identifier concepts (HIPAA Safe Harbor's 18, as they appear in billing, workforce and
  ticketing exports), each with the word sequences that name it in a header. A header is first reduced to
  canonical English words by ``header_words`` (case, accents, punctuation, spacing, camelCase, run-together
  words, abbreviations, French and Spanish words), then matched against the sequences.
- ``SHAPES``: what an identifier value looks like (SSN, phone number, e-mail address, MRN), in any separator,
  digit width or adjacency. Each is rendered twice from one template: as RE2 for DuckDB (validation screens
  every kept text value in SQL) and as Python ``re`` (malformed lines, header names).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

# --------------------------------------------------------------------------------------------------------------
# Headers
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Concept:
    """One kind of patient identifier and the canonical word sequences that name it in a header.

    ``words`` match anywhere in the header's words (a two-word sequence in either order, as French and Spanish
    put the noun first: "nom du patient"); ``whole`` match only the whole header ("Name", "Patient"), since the
    same word inside a longer header is something else ("Vendor Name", "Patient Type").
    """

    id: str
    hipaa: str  # the Safe Harbor identifier, 45 CFR 164.514(b)(2)(i)
    words: tuple[tuple[str, ...], ...]
    whole: tuple[tuple[str, ...], ...] = ()
    examples: str = ""  # header spellings it catches, for the docs


def _w(*seqs: str) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(s.split()) for s in seqs)


CONCEPTS: tuple[Concept, ...] = (
    Concept("name", "(A) names", _w(
        "patient name", "first name", "last name", "given name", "family name", "middle name", "maiden name",
        "full name", "surname", "forename", "nickname", "initials", "member name", "subscriber name",
        "insured name", "beneficiary name", "caller name", "next kin", "nok", "emergency contact",
        "responsible party", "guardian", "spouse name", "parent name"),
        _w("name", "patient", "person", "caller", "contact"),
        "Pt Name, PatientName, Patient.Name, Patient, Name, Nom du patient, Prénom, Nom de famille, "
        "Nombre del paciente, Apellidos, Next of kin"),
    Concept("geography", "(B) geographic subdivisions smaller than a state", _w(
        "address", "street", "city", "zip", "zip code", "postal code", "postcode", "county", "residence",
        "latitude", "longitude", "geolocation", "geo", "gps", "coordinates"), (),
        "Home Addr, Address Line 1, Street, City, ZIP, Zip+4, Postcode, Code postal, Ville, Adresse, Dirección, "
        "Código postal, Ciudad, Domicilio"),
    Concept("date", "(C) dates directly related to the individual (birth, death)", _w(
        "date birth", "birthday", "date death", "deceased"), (),
        "DOB, D.O.B., Birthdate, Date of Birth, Date de naissance, Fecha de nacimiento, Date of Death, DOD, "
        "Date de décès, Fecha de defunción"),
    Concept("phone", "(D) telephone numbers", _w(
        "phone", "mobile", "cell", "pager", "ani", "caller id", "caller number", "calling number",
        "callback number", "contact number", "contact phone", "msisdn"), (),
        "Phone#, Cell, Mobile, Home Phone, Tel, Téléphone, Teléfono, Móvil, Celular, Portable, Caller ID, ANI"),
    Concept("fax", "(E) fax numbers", _w("fax"), (), "Fax, Fax #, Télécopie"),
    Concept("email", "(F) electronic mail addresses", _w("email", "e mail"), _w("mail"),
            "Email, E-mail, eMail, Email Address, Courriel, Correo electrónico"),
    Concept("national_id", "(G) social security numbers (and other national identity numbers)", _w(
        "ssn", "social security", "ss number", "social insurance", "nir", "nss", "curp", "dni", "nie", "nif",
        "passport", "national id", "national number", "nhs number", "carte vitale", "cedula"), (),
        "SSN, SSN#, SS#, Social Security Number, Soc Sec #, NIR, Numéro de sécurité sociale, NSS, "
        "Número de la Seguridad Social, CURP, DNI, Passport, National ID, NHS number"),
    Concept("mrn", "(H) medical record numbers", _w(
        "mrn", "medical record", "chart number", "chart id", "patient id", "patient number", "patient key",
        "person id", "person number", "hospital number", "ipp", "nhc", "historia clinica", "dossier medical",
        "dossier patient", "empi", "mpi", "health id", "health card"), (),
        "MRN, MRN:, Med Rec #, Medical Record Number, Chart #, Patient ID, PatientID, Pt #, IPP, "
        "Nº historia clínica, NHC, Dossier médical"),
    Concept("plan", "(I) health plan beneficiary numbers", _w(
        "member id", "member number", "subscriber", "insured id", "insured number", "insurance id",
        "insurance number", "policy number", "policy id", "policy holder", "policyholder", "beneficiary",
        "hicn", "mbi", "medicare id", "medicare number", "medicaid id", "medicaid number"),
        _w("member", "insured", "policy"),
        "Member #, MemberID, Member, Subscriber ID, Insured ID, Ins ID, Policy #, HICN, MBI, Numéro d'assuré, "
        "Nº adhérent, Bénéficiaire, Número de afiliado, Asegurado, Número de póliza"),
    Concept("account", "(J) account numbers", _w(
        "account number", "account id", "patient account", "guarantor", "bank account", "iban",
        "credit card", "card number"), (),
        "Acct #, Account Number, Patient Account, Guarantor, Guarantor ID, Garant, Número de cuenta, IBAN"),
    Concept("licence", "(K) certificate / license numbers", _w(
        "license number", "license id", "driver license", "dl number"), (),
        "License #, Licence Number, Driver's License, Permis de conduire, Licencia de conducir"),
    Concept("vehicle", "(L) vehicle identifiers and serial numbers, including license plates", _w(
        "vehicle", "vin", "license plate", "plate", "plate number"), (),
        "VIN, Vehicle ID, License Plate, Immatriculation, Matrícula"),
    Concept("device", "(M) device identifiers and serial numbers", _w(
        "device id", "device serial", "device number", "serial number", "serial id", "imei", "udi"), (),
        "Device ID, Serial Number, Serial #, IMEI, UDI, Numéro de série, Número de serie"),
    Concept("url", "(N) web universal resource locators", _w("url", "uri", "website", "web site", "homepage"), (),
            "URL, Website, Profile URL, Site web"),
    Concept("ip", "(O) internet protocol addresses", _w("ip address", "ipv4", "ipv6"), (),
            "IP Address, IPv4, Adresse IP (any 'address' is caught by geography too)"),
    Concept("biometric", "(P) biometric identifiers", _w(
        "biometric", "biometrics", "fingerprint", "voiceprint", "voice print", "retina", "iris scan", "face id"),
        (), "Fingerprint, Biometric, Voiceprint, Empreinte digitale, Huella dactilar"),
    Concept("photo", "(Q) full-face photographs and comparable images", _w(
        "photo", "photograph", "picture", "headshot"), (), "Photo, Photo ID, Picture, Foto"),
    Concept("other_id", "(R) any other unique identifying number", _w(
        "enrollee", "resident id", "unique patient"), (), "Enrollee ID, Resident ID"),
)

#: Surface words (after accents are dropped and the header is lower-cased) -> canonical words. English
#: abbreviations, and the French and Spanish words of the concepts above.
SYNONYMS: dict[str, tuple[str, ...]] = {k: tuple(v.split()) for k, v in {
    # numbers and ids ('#' and 'N°' become 'number' before this)
    "no": "number", "nr": "number", "nbr": "number", "nro": "number", "num": "number", "numero": "number",
    "numer": "number", "nos": "number", "ident": "id", "identifier": "id", "identifiant": "id",
    "identificador": "id", "identification": "id", "identificacion": "id", "ids": "id",
    # people
    "pt": "patient", "pat": "patient", "paciente": "patient", "patiente": "patient", "nom": "name",
    "nombre": "name", "names": "name", "prenom": "first name", "apellido": "surname", "apellidos": "surname",
    "fname": "first name", "lname": "last name", "firstname": "first name", "lastname": "last name",
    "nok": "next kin", "famille": "family", "familia": "family", "persona": "person", "personne": "person", "tuteur": "guardian", "tutor": "guardian",
    "contacto": "contact", "urgence": "emergency", "emergencia": "emergency", "garant": "guarantor",
    "garante": "guarantor", "guar": "guarantor", "gtor": "guarantor", "initiales": "initials",
    "iniciales": "initials",
    # places
    "addr": "address", "adr": "address", "adresse": "address", "direccion": "address", "domicilio": "address",
    "addresses": "address", "rue": "street", "calle": "street", "ville": "city", "ciudad": "city",
    "commune": "city", "localidad": "city", "municipio": "city", "codigo": "code", "postale": "postal",
    "zipcode": "zip code", "geoloc": "geolocation", "lat": "latitude", "lng": "longitude",
    # dates of the person
    "dob": "date birth", "dod": "date death", "birthdate": "date birth", "bdate": "date birth",
    "birth": "birth", "naissance": "birth", "nacimiento": "birth", "nac": "birth", "fecha": "date",
    "dt": "date", "deces": "death", "defuncion": "death", "fallecimiento": "death", "born": "birth",
    # phone, fax, e-mail
    "tel": "phone", "telephone": "phone", "telefono": "phone", "phn": "phone", "phone": "phone",
    "phones": "phone", "cellphone": "cell phone", "movil": "mobile", "celular": "mobile",
    "portable": "mobile", "cellulaire": "mobile", "telecopie": "fax", "courriel": "email", "correo": "email",
    "mel": "email", "emails": "email",
    # national ids
    "soc": "social", "sec": "security", "securite": "security", "seguridad": "security", "sociale": "social",
    "passeport": "passport", "pasaporte": "passport", "ssan": "ssn", "ssno": "ssn number",
    # records
    "med": "medical", "medicale": "medical", "medico": "medical", "medica": "medical", "rec": "record",
    "records": "record", "rcd": "record",
    # plans and accounts
    "mbr": "member", "mem": "member", "memb": "member", "adherent": "member", "afiliado": "member",
    "subscr": "subscriber", "sub": "subscriber", "assure": "insured", "asegurado": "insured",
    "ins": "insurance", "beneficiaire": "beneficiary", "beneficiario": "beneficiary", "bene": "beneficiary",
    "poliza": "policy", "acct": "account", "cuenta": "account", "compte": "account",
    # licences, vehicles, devices, photos, biometrics
    "licence": "license", "licencia": "license", "lic": "license", "permis": "license",
    "drivers": "driver", "driving": "driver", "conduire": "driver", "conducir": "driver",
    "vehicule": "vehicle", "vehiculo": "vehicle", "immatriculation": "plate", "matricula": "plate",
    "serie": "serial", "appareil": "device", "dispositivo": "device", "foto": "photo",
    "empreinte": "fingerprint", "huella": "fingerprint", "siteweb": "website",
}.items()}

#: Words that join others and are dropped ("date of birth", "nom du patient", "driver's license").
STOPWORDS = frozenset("of the de du des d la le les l el del los las y et and s en".split())
#: Words that go with identifier words in headers ("Home Phone", "Profile URL", "Empreinte digitale"): they
#: name no identifier themselves, but a run-together header ("homephone", "profileurl") splits on them.
QUALIFIERS = frozenset("home work profile primary alternate secondary personal mailing billing current "
                       "previous electronique electronico digitale dactilar".split())
#: One-letter words that may end a run-together piece (French elisions: d'assuré, l'adresse).
ELISIONS = frozenset("dl")


def _vocabulary() -> frozenset[str]:
    words = {w for c in CONCEPTS for seq in (*c.words, *c.whole) for w in seq}
    words |= set(SYNONYMS) | {w for v in SYNONYMS.values() for w in v} | {s for s in STOPWORDS if len(s) > 1}
    words |= ELISIONS | QUALIFIERS
    return frozenset(words)


VOCABULARY = _vocabulary()


def _segment(token: str) -> list[str] | None:
    """A run-together token ("patientname", "dateofbirth") as vocabulary words, or None.

    Only a token that splits wholly into known words is split (fewest pieces; one-letter pieces only for
    French elisions, "numérod'assuré" -> numero d assure), so ordinary words ("username", "accident") stay
    whole.
    """
    n = len(token)
    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    for end in range(1, n + 1):
        for start in range(max(0, end - 24), end):
            if end - start == 1 and (token[start] not in ELISIONS or end == n):  # an elision precedes a word
                continue
            prev = best[start]
            piece = token[start:end]
            if prev is not None and piece in VOCABULARY and (best[end] is None or len(prev) + 1 < len(best[end])):
                best[end] = [*prev, piece]
    return best[n] if best[n] and len(best[n]) > 1 else None


_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])")


@lru_cache(maxsize=4096)
def header_words(name: str) -> tuple[str, ...]:
    """A header as canonical English words: ``"Nº Historia Clínica"`` -> ``("number", "historia", "clinica")``."""
    s = re.sub(r"(?i)n\s*[°º]", " number ", str(name))
    s = s.replace("#", " number ").replace("№", " number ").replace("@", " at ")
    s = re.sub(r"(?i)['’]s", " ", s)  # possessives: driver's license
    s = re.sub(r"(?i)([dl])['’]", r" \1 ", s)  # French elisions: numéro d'assuré, l'adresse
    s = "".join(ch for ch in unicodedata.normalize("NFKD", s) if not unicodedata.combining(ch))
    s = _CAMEL.sub(" ", s)
    tokens = re.findall(r"[^\W_]+", s.casefold())
    joined: list[str] = []  # D.O.B. -> dob, S S N -> ssn
    run: list[str] = []
    for t in [*tokens, ""]:
        if len(t) == 1 and t.isalpha():
            run.append(t)
            continue
        joined += ["".join(run)] if len(run) > 1 else run
        run = []
        if t:
            joined.append(t)
    out: list[str] = []
    for t in joined:
        pieces = [t] if t in VOCABULARY or len(t) < 4 or not t.isalpha() else (_segment(t) or [t])
        for p in pieces:
            out += [w for w in SYNONYMS.get(p, (p,)) if w not in STOPWORDS]
    return tuple(out)


def _contains(words: tuple[str, ...], seq: tuple[str, ...]) -> bool:
    n = len(seq)
    orders = {seq, seq[::-1]} if n == 2 else {seq}
    return any(tuple(words[i:i + n]) in orders for i in range(len(words) - n + 1))


def header_concept(name: str) -> Concept | None:
    """The identifier concept a header names, or None. A header holding an identifier-shaped value (a file
    whose first row is data, not headers) counts as naming one."""
    words = header_words(name)
    for c in CONCEPTS:
        if words in c.whole or any(_contains(words, seq) for seq in c.words):
            return c
    if find_shapes(str(name)):
        return OTHER_VALUE
    return None


OTHER_VALUE = Concept("value", "a header that is itself an identifier-shaped value", ())


def is_phi_header(name: str) -> bool:
    """True when a header names a patient identifier (its column is never stored)."""
    return header_concept(name) is not None


# --------------------------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------------------------


# Values are screened in two steps, the same in SQL (DuckDB's RE2) and in Python: the text is first folded to
# ASCII where it matters (digits of any script become 0-9, every dash "-", every space " ", invisible
# characters are removed, full-width forms become ASCII), then matched against ASCII shapes. Folding first
# keeps the shapes small: RE2 compiles and runs Unicode classes slowly, and validation screens every value.

#: Dashes beyond ASCII (Unicode category Pd: en dash, em dash, non-breaking hyphen, ... and the minus sign),
#: folded to "-".
DASHES: tuple[tuple[int, int], ...] = (
    (0x58A, 0x58A), (0x5BE, 0x5BE), (0x1400, 0x1400), (0x1806, 0x1806), (0x2010, 0x2015), (0x2E17, 0x2E17),
    (0x2E1A, 0x2E1A), (0x2E3A, 0x2E3B), (0x2E40, 0x2E40), (0x2E5D, 0x2E5D), (0x301C, 0x301C), (0x3030, 0x3030),
    (0x30A0, 0x30A0), (0xFE31, 0xFE32), (0xFE58, 0xFE58), (0xFE63, 0xFE63), (0x10EAD, 0x10EAD), (0x2212, 0x2212),
)
#: Spaces beyond ASCII (category Zs: no-break, thin, figure, ideographic, ...), folded to " ".
SPACES: tuple[tuple[int, int], ...] = (
    (0xA0, 0xA0), (0x1680, 0x1680), (0x2000, 0x200A), (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000),
)
#: Middle dots and bullets, folded to ".".
DOTS: tuple[tuple[int, int], ...] = ((0xB7, 0xB7), (0x2022, 0x2022), (0x30FB, 0x30FB))
#: Invisible format characters (category Cf: zero-width space, soft hyphen, bidi marks, ...), removed.
INVISIBLE: tuple[tuple[int, int], ...] = (
    (0xAD, 0xAD), (0x600, 0x605), (0x61C, 0x61C), (0x6DD, 0x6DD), (0x70F, 0x70F), (0x890, 0x891), (0x8E2, 0x8E2),
    (0x180E, 0x180E), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x2064), (0x2066, 0x206F), (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB), (0x110BD, 0x110BD), (0x110CD, 0x110CD), (0x13430, 0x13438), (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A), (0xE0001, 0xE0001), (0xE0020, 0xE007F),
)
#: Full-width ASCII forms (！ to ～, digits and letters included), folded to ASCII.
FULL_WIDTH = (0xFF01, 0xFF5E)
#: The digit zero of every decimal-digit block beyond ASCII and full-width (Arabic-Indic, Devanagari, Thai,
#: mathematical, ...; category Nd): each block holds the ten digits 0-9 in order, folded to 0-9.
DIGIT_ZEROS: tuple[int, ...] = (
    0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66, 0xDE6, 0xE50, 0xED0,
    0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50,
    0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0x104A0, 0x10D30, 0x11066, 0x110F0,
    0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650, 0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50,
    0x11D50, 0x11DA0, 0x16A60, 0x16AC0, 0x16B50, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140,
    0x1E2F0, 0x1E950, 0x1FBF0,
)


def _class_body(ranges: tuple[tuple[int, int], ...] | list[tuple[int, int]]) -> str:
    """A character-class body (no brackets) of the ranges, valid in both RE2 and Python ``re``."""
    def lit(cp: int) -> str:
        ch = chr(cp)
        return "\\" + ch if ch in "\\]-^[" else ch
    return "".join(lit(a) if a == b else f"{lit(a)}-{lit(b)}" for a, b in ranges)


def _ranges(cps: Iterable[int]) -> list[tuple[int, int]]:
    """Code points as the fewest (first, last) ranges."""
    out: list[tuple[int, int]] = []
    for cp in sorted(set(cps)):
        if out and cp == out[-1][1] + 1:
            out[-1] = (out[-1][0], cp)
        else:
            out.append((cp, cp))
    return out


def _fold_pairs() -> tuple[tuple[str, str], tuple[str, str]]:
    """The fold as two (from, to) character maps for SQL's translate (characters of `from` past the end of
    `to` are removed): full-width forms, dashes, spaces, dots and invisible characters; then digits, only
    for text that has some beyond ASCII (translate's cost grows with the map)."""
    src, dst = [*range(FULL_WIDTH[0], FULL_WIDTH[1] + 1)], [chr(c - 0xFEE0) for c in range(FULL_WIDTH[0], FULL_WIDTH[1] + 1)]
    for ranges, to in ((DASHES, "-"), (SPACES, " "), (DOTS, ".")):
        for lo, hi in ranges:
            src += range(lo, hi + 1)
            dst += [to] * (hi - lo + 1)
    src += [c for lo, hi in INVISIBLE for c in range(lo, hi + 1)]
    digits = [z + d for z in DIGIT_ZEROS for d in range(10)]
    return (("".join(map(chr, src)), "".join(dst)),
            ("".join(map(chr, digits)), "".join(str(d) for _z in DIGIT_ZEROS for d in range(10))))


FOLD_MAP, DIGIT_MAP = _fold_pairs()
#: Any character that folding changes, and any digit beyond ASCII.
FOLDABLE = "[" + _class_body(_ranges(ord(c) for c in FOLD_MAP[0] + DIGIT_MAP[0])) + "]"
OTHER_DIGIT = "[" + _class_body([(z, z + 9) for z in DIGIT_ZEROS]) + "]"


def _fold_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    for src, dst in (FOLD_MAP, DIGIT_MAP):
        table.update({ord(a): (dst[i] if i < len(dst) else None) for i, a in enumerate(src)})
    return table


_FOLD_TABLE = _fold_table()


def fold(text: str) -> str:
    """The text as the shapes see it: digits, dashes, spaces and full-width forms in ASCII, invisible
    characters removed."""
    return text.translate(_FOLD_TABLE)


@dataclass(frozen=True)
class Shape:
    """What one kind of identifier value looks like, after folding.

    Each pattern is a template: ``{S}`` is one separator character (``{SC}`` the same inside a character
    class): a dash, space, tab, ``.``, ``/``, ``\\`` or ``_``. ``digits`` shapes must not touch other digits
    (letters, ``_`` and punctuation may touch them: ``x123-45-6789``). A pattern whose flag is False is not
    screened in the contract's work identifiers (claim_id, audit_id, item_id, call_id), whose plain digit
    runs are claim, ticket and call numbers.
    """

    kind: str
    label: str  # said in the rejection: "looks like {label}"
    noun: str  # and "expected no {noun}"
    mask: str  # what replaces it in messages and raw values; matches no shape
    patterns: tuple[tuple[str, bool, str], ...]  # (template, also screened in work identifiers, what it catches)
    digits: bool


SHAPES: tuple[Shape, ...] = (
    Shape("email", "an e-mail address", "e-mail address", "***@***.***", (
        (r"""[^\s@<>()\[\],;:"'*]+(?:@|[ ]?[\[(]at[\])][ ]?)[^\s@<>()\[\],;:"'*.]+(?:\.[^\s@<>()\[\],;:"'*.]+)*"""
         r"\.[A-Za-z]{{2,}}", True, "`jane.roe@example.org`, `jane＠example.org`, `jane(at)example.org`"),), False),
    Shape("mrn", "a medical record number", "medical record number", "MRN ****", (
        (r"(?i:mrn|ipp|nhc|(?:mr|med\.?{S}*rec(?:ord)?\.?|medical{S}*records?|chart|dossier|historia{S}*cl[ií]nica)"
         r"{S}*(?:#|no\.?|nr\.?|n[°º]|num(?:ber|ero|éro)?|id))[{SC}#:=]*[A-Za-z]?[0-9]{{4,}}", True,
         "a label (MRN, IPP or NHC; or MR, Med Rec, Medical Record, Chart, Dossier or Historia clínica followed by "
         "#, No, Nº, Number or ID), then 4 or more digits, perhaps after one letter: `MRN0001`, `xMRN: 12345`, "
         "`MR# 123456`, `Med Rec No. 4521`, `Chart No18810952`, `IPP A123456`"),), False),
    Shape("ssn", "a US Social Security number", "SSN", "***-**-****", (
        (r"[0-9]{{3}}{S}{{1,3}}[0-9]{{2}}{S}{{1,3}}[0-9]{{4}}", True,
         "3-2-4 digits: `123-45-6789`, `123 45 6789`, `123.45.6789`, `123/45/6789`, `123–45–6789`, "
         "`１２３-４５-６７８９`, `ssn_123-45-6789`"),
        (r"[0-9]{{9}}", False, "nine digits alone: `123456789`")), True),
    Shape("phone", "a phone number", "phone number", "***-***-****", (
        (r"(?:\([0-9]{{3}}\)|[0-9]{{3}}){S}{{0,3}}[0-9]{{3}}{S}{{1,3}}[0-9]{{4}}", True,
         "3-3-4 digits: `(555) 010-0123`, `555.010.0123`"),
        (r"\+{S}{{0,2}}[0-9]{{1,3}}(?:[{SC}()]{{0,3}}[0-9]){{6,12}}", True,
         "`+`, a country code and 6 to 12 digits: `+1 555 010 0123`, `+33 1 23 45 67 89`"),
        (r"0[0-9](?:{S}{{1,3}}[0-9]{{2}}){{4}}", True, "French: `01 23 45 67 89`"),
        (r"[0-9]{{10,11}}", False, "ten or eleven digits alone: `5550100123`"),
        (r"00{S}{{0,2}}[0-9]{{1,3}}(?:[{SC}()]{{0,3}}[0-9]){{6,12}}", False, "`00` and a country code: `0033 1 23 45 67 89`"),
        (r"[0-9]{{3}}{S}{{1,3}}[0-9]{{3}}{S}{{1,3}}[0-9]{{3}}", False, "Spanish 3-3-3: `912 345 678`"),
        (r"[0-9]{{2}}{S}{{1,3}}[0-9]{{3}}{S}{{1,3}}[0-9]{{2}}{S}{{1,3}}[0-9]{{2}}", False, "Spanish 2-3-2-2: `91 234 56 78`")),
        True),
)

_SEPS = r"\-\t ./\\_"
#: How the templates' tokens read: RE2 has no look-around, so a digit shape carries its neighbours as groups
#: 1 and 2 there (a replacement is ``\\1MASK\\2``, applied twice: two matches may share a neighbour).
_TOKENS = {
    "re2": {"S": f"[{_SEPS}]", "SC": _SEPS, "lead": "(^|[^0-9])", "trail": "([^0-9]|$)"},
    "python": {"S": f"[{_SEPS}]", "SC": _SEPS, "lead": "(?<![0-9])", "trail": "(?![0-9])"},
}


def _shape(kind: str) -> Shape:
    return next(s for s in SHAPES if s.kind == kind)


@lru_cache(maxsize=None)
def pattern(kind: str | None = None, dialect: str = "re2", ids: bool = False) -> str:
    """The regex of one kind (or of every kind) over folded text; ``ids``: only what work identifiers are
    screened for. "" when the kind has nothing to screen there."""
    if kind is None:
        return "|".join(f"(?:{p})" for s in SHAPES if (p := pattern(s.kind, dialect, ids)))
    shape = _shape(kind)
    t = _TOKENS[dialect]
    bodies = [p.format(**t) for p, in_ids, _ in shape.patterns if in_ids or not ids]
    if not bodies:
        return ""
    body = "|".join(bodies)
    return f"{t['lead']}(?:{body}){t['trail']}" if shape.digits else body


@lru_cache(maxsize=None)
def prefilter(dialect: str = "re2", ids: bool = False) -> str:
    """On unfolded text: a value this does not match holds no identifier shape (it has no shape in ASCII and
    nothing that folding would change), so one test decides for most values."""
    return f"{pattern(None, dialect, ids)}|{FOLDABLE}"


@lru_cache(maxsize=None)
def _compiled(kind: str | None, ids: bool) -> re.Pattern[str] | None:
    p = pattern(kind, "python", ids)
    return re.compile(p) if p else None


def find_shapes(text: str, ids: bool = False) -> list[str]:
    """The kinds of identifier the text holds (the same shapes as the SQL screening)."""
    folded = fold(text)
    return [s.kind for s in SHAPES if (rx := _compiled(s.kind, ids)) and rx.search(folded)]


@lru_cache(maxsize=None)
def _prefilter_rx(ids: bool) -> re.Pattern[str]:
    return re.compile(prefilter("python", ids))


def mask(text: str, ids: bool = False) -> str:
    """Every identifier-shaped part of the text replaced by its kind's mask (in SHAPES order: an e-mail
    address before the digits in it). Text with no identifier comes back as it was; masked text comes back
    folded (its dashes, spaces and digits in ASCII)."""
    if not _prefilter_rx(ids).search(text):
        return text
    folded = masked = fold(text)
    for s in SHAPES:
        rx = _compiled(s.kind, ids)
        if rx is not None:
            masked = rx.sub(s.mask.replace("\\", "\\\\"), masked)
    return text if masked == folded else masked


#: Longest raw value (a cell, or a malformed line) kept in rejects, after masking; the rest is cut and said.
MAX_RAW_CHARS = 2000


#: What ends a raw value cut at MAX_RAW_CHARS; {} is its whole length.
CUT_NOTE = "… [cut: {} characters in all]"


def cut_note(length: int) -> str:
    return CUT_NOTE.format(f"{length:,}")


_CUT_NOTE_AT_END = re.compile(re.escape(CUT_NOTE).replace(re.escape("{}"), "[0-9,]+") + "$")


def capped(text: str, length: int | None = None) -> str:
    """A raw value as kept in rejects: masked, then cut at MAX_RAW_CHARS (masking first, so no identifier is
    cut into a piece the shapes no longer see). ``length`` is the whole value's, when ``text`` is only its start;
    a value capped already is kept as it is."""
    done = _CUT_NOTE_AT_END.search(text)
    if done and done.start() <= MAX_RAW_CHARS:
        return mask(text[:done.start()]) + text[done.start():]
    total = max(length or 0, len(text))
    text = mask(text)
    return text if total <= MAX_RAW_CHARS and len(text) <= MAX_RAW_CHARS else text[:MAX_RAW_CHARS] + cut_note(total)
