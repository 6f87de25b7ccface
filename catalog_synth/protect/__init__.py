"""The protect stage: what the model never sees of real people.

classify      column classes (identifying, public reference, free text, modelled) by override, key, type,
              name, content and the table's role; public_reference: lists and shapes anyone can look up
kinds         the registry binding each kind of identifying value's recognizers to its fake maker
recognizers   content checks, one per kind (phonenumbers, python-stdnum, Faker's street words)
fakes         format-preserving fakes that equal no real value (the collision engine)
fake_makers   one fake maker per kind; contact_fakes: phones, IBANs, cards, e-mails
shapes        masks and templates of codes; fake_context: what a table's fake makers share
meanings      what a text column's values mean (country, city, title ...); locales, places
people        which tables describe people and who each sampled row is about
subjects      people, not rows: distinct-person counts; evidence: what the warehouse told the worker
rare          rare categories, numbers, extremes and row copies; the holdout of whole people
prepare       a table ready to protect and model; categories, table_fakes: applied to a table
names         column names read as words, and the identifying semantic a name says
"""
