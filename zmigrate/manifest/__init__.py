"""The migration manifest: a TOML file in ``plans/`` turned into frozen, validated dataclasses.

Layout (every key is declared in :mod:`.keys` and documented in the README, "Planning")::

    [target]                       # where the data goes; never a secret
    data_center = "com"            # else $ZOHO_DC, else "com"
    crm_edition = "enterprise"     # free, standard (starter), professional, enterprise, ultimate
    crm_users = 10
    books_plan = "standard"
    inventory_plan = "standard"
    organization_id = "..."        # optional; books_/inventory_organization_id override it;
                                   # absent: $ZOHO_ORGANIZATION_ID at run time
    schema = "schema/org.json"     # the org's snapshot (zmigrate schema pull); absent: built in

    [[steps]]
    name = "contacts"
    target = "crm:Contacts"        # crm:Module, books:module, inventory:module, file:out.csv
    operation = "upsert"           # insert, upsert, update
    key = ["Email"]                # target fields that make a record unique
    source_key = ["contact_ref"]   # optional: source columns naming a row (id cross-reference);
                                   # default: the columns mapped to the key fields
    method = "auto"                # auto, bulk, rest
    on_duplicate_key = "error"     # two records with one target key: error, dead-letter, merge
    source = { file = "data/contacts.csv", encoding = "utf-8", delimiter = "," }
    # or: source = { zoho = "crm:Accounts", records = 12000, fields = ["Account_Name"] }
    [steps.fields]                 # target field <- source column, constant or transform
    Last_Name = "last_name"
    Lead_Source = { const = "Import" }
    Date_of_Birth = { column = "dob", transform = "date", format = "%d/%m/%Y" }
    [steps.lookups]                # target field <- id an earlier step produced for a source key
    Account_Name = { step = "accounts", column = "account_ref" }

Fields and lookups named ``line_items[].<field>`` build Books/Inventory line items: consecutive
source rows with the same source key form one record, one line item per row (see mapping.py).

Every problem raises :class:`~zmigrate.errors.ManifestError` naming the file, the TOML line,
the step and the field, with the nearest valid name for a typo.

Modules: ``model`` (the dataclasses and vocabularies), ``keys`` (every key, declared as data),
``validate`` (the one check of a table against its keys), ``rules`` (checks against the schema
and between steps), ``locate`` (TOML line numbers), ``load`` (text -> model), ``hints``.
"""

from zmigrate.manifest.hints import did_you_mean, display_path, nearest
from zmigrate.manifest.keys import SECRET_KEYS
from zmigrate.manifest.load import load_manifest
from zmigrate.manifest.model import (
    ARRAY_MARK,
    LINE_ITEMS,
    METHODS,
    OPERATIONS,
    PRODUCTS,
    SHARED_LOOKUPS,
    TRANSFORMS,
    FieldMap,
    Lookup,
    Manifest,
    Method,
    NewField,
    OnDuplicateKey,
    Operation,
    Owners,
    Product,
    SourceKind,
    SourceSpec,
    Step,
    Target,
    TargetSpec,
    Transform,
    UnknownOwner,
)

__all__ = [
    "ARRAY_MARK",
    "LINE_ITEMS",
    "METHODS",
    "OPERATIONS",
    "PRODUCTS",
    "SECRET_KEYS",
    "SHARED_LOOKUPS",
    "TRANSFORMS",
    "FieldMap",
    "Lookup",
    "Manifest",
    "Method",
    "NewField",
    "OnDuplicateKey",
    "Operation",
    "Owners",
    "Product",
    "SourceKind",
    "SourceSpec",
    "Step",
    "Target",
    "TargetSpec",
    "Transform",
    "UnknownOwner",
    "did_you_mean",
    "display_path",
    "load_manifest",
    "nearest",
]
