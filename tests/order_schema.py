"""A small order-management schema in the shape of Microsoft's Northwind sample (its products,
pack sizes, categories, regions, territories, suppliers and employees as the sample ships them),
with generated customers and orders and a table of US states no key refers to.

It holds the kinds of columns that a name-and-pattern classifier gets wrong: pack sizes that look
like street numbers (``24 - 12 oz bottles``), product names, a 4-value courtesy-title column,
lookup tables whose labels are called ``*_description``, and public reference data.
``build(path)`` writes it to a SQLite file with its foreign keys.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pycountry
import sqlalchemy as sa
from faker import Faker

CATEGORIES = [
    ("Beverages", "Soft drinks, coffees, teas, beers, and ales"),
    ("Condiments", "Sweet and savory sauces, relishes, spreads, and seasonings"),
    ("Confections", "Desserts, candies, and sweet breads"),
    ("Dairy Products", "Cheeses"),
    ("Grains/Cereals", "Breads, crackers, pasta, and cereal"),
    ("Meat/Poultry", "Prepared meats"),
    ("Produce", "Dried fruit and bean curd"),
    ("Seafood", "Seaweed and fish"),
]

# (product name, category number from 1, pack size)
PRODUCTS = [
    ("Chai", 1, "10 boxes x 20 bags"), ("Chang", 1, "24 - 12 oz bottles"),
    ("Aniseed Syrup", 2, "12 - 550 ml bottles"), ("Chef Anton's Cajun Seasoning", 2, "48 - 6 oz jars"),
    ("Chef Anton's Gumbo Mix", 2, "36 boxes"), ("Grandma's Boysenberry Spread", 2, "12 - 8 oz jars"),
    ("Uncle Bob's Organic Dried Pears", 7, "12 - 1 lb pkgs."), ("Northwoods Cranberry Sauce", 2, "12 - 12 oz jars"),
    ("Mishi Kobe Niku", 6, "18 - 500 g pkgs."), ("Ikura", 8, "12 - 200 ml jars"),
    ("Queso Cabrales", 4, "1 kg pkg."), ("Queso Manchego La Pastora", 4, "10 - 500 g pkgs."),
    ("Konbu", 8, "2 kg box"), ("Tofu", 7, "40 - 100 g pkgs."), ("Genen Shouyu", 2, "24 - 250 ml bottles"),
    ("Pavlova", 3, "32 - 500 g boxes"), ("Alice Mutton", 6, "20 - 1 kg tins"), ("Carnarvon Tigers", 8, "16 kg pkg."),
    ("Teatime Chocolate Biscuits", 3, "10 boxes x 12 pieces"), ("Sir Rodney's Marmalade", 3, "30 gift boxes"),
    ("Sir Rodney's Scones", 3, "24 pkgs. x 4 pieces"), ("Gustaf's Knäckebröd", 5, "24 - 500 g pkgs."),
    ("Tunnbröd", 5, "12 - 250 g pkgs."), ("Guaraná Fantástica", 1, "12 - 355 ml cans"),
    ("NuNuCa Nuß-Nougat-Creme", 3, "20 - 450 g glasses"), ("Gumbär Gummibärchen", 3, "100 - 250 g bags"),
    ("Schoggi Schokolade", 3, "100 - 100 g pieces"), ("Rössle Sauerkraut", 7, "25 - 825 g cans"),
    ("Thüringer Rostbratwurst", 6, "50 bags x 30 sausgs."), ("Nord-Ost Matjeshering", 8, "10 - 200 g glasses"),
    ("Gorgonzola Telino", 4, "12 - 100 g pkgs"), ("Mascarpone Fabioli", 4, "24 - 200 g pkgs."),
    ("Geitost", 4, "500 g"), ("Sasquatch Ale", 1, "24 - 12 oz bottles"), ("Steeleye Stout", 1, "24 - 12 oz bottles"),
    ("Inlagd Sill", 8, "24 - 250 g jars"), ("Gravad lax", 8, "12 - 500 g pkgs."),
    ("Côte de Blaye", 1, "12 - 75 cl bottles"), ("Chartreuse verte", 1, "750 cc per bottle"),
    ("Boston Crab Meat", 8, "24 - 4 oz tins"), ("Jack's New England Clam Chowder", 8, "12 - 12 oz cans"),
    ("Singaporean Hokkien Fried Mee", 5, "32 - 1 kg pkgs."), ("Ipoh Coffee", 1, "16 - 500 g tins"),
    ("Gula Malacca", 2, "20 - 2 kg bags"), ("Rogede sild", 8, "1k pkg."), ("Spegesild", 8, "4 - 450 g glasses"),
    ("Zaanse koeken", 3, "10 - 4 oz boxes"), ("Chocolade", 3, "10 pkgs."), ("Maxilaku", 3, "24 - 50 g pkgs."),
    ("Valkoinen suklaa", 3, "12 - 100 g bars"), ("Manjimup Dried Apples", 7, "50 - 300 g pkgs."),
    ("Filo Mix", 5, "16 - 2 kg boxes"), ("Perth Pasties", 6, "48 pieces"), ("Tourtière", 6, "16 pies"),
    ("Pâté chinois", 6, "24 boxes x 2 pies"), ("Gnocchi di nonna Alice", 5, "24 - 250 g pkgs."),
    ("Ravioli Angelo", 5, "24 - 250 g pkgs."), ("Escargots de Bourgogne", 8, "24 pieces"),
    ("Raclette Courdavault", 4, "5 kg pkg."), ("Camembert Pierrot", 4, "15 - 300 g rounds"),
    ("Sirop d'érable", 2, "24 - 500 ml bottles"), ("Tarte au sucre", 3, "48 pies"),
    ("Vegie-spread", 2, "15 - 625 g jars"), ("Wimmers gute Semmelknödel", 5, "20 bags x 4 pieces"),
    ("Louisiana Fiery Hot Pepper Sauce", 2, "32 - 8 oz bottles"), ("Louisiana Hot Spiced Okra", 2, "24 - 8 oz jars"),
    ("Laughing Lumberjack Lager", 1, "24 - 12 oz bottles"), ("Scottish Longbreads", 3, "10 boxes x 8 pieces"),
    ("Gudbrandsdalsost", 4, "10 kg pkg."), ("Outback Lager", 1, "24 - 355 ml bottles"),
    ("Flotemysost", 4, "10 - 500 g pkgs."), ("Mozzarella di Giovanni", 4, "24 - 200 g pkgs."),
    ("Röd Kaviar", 8, "24 - 150 g jars"), ("Longlife Tofu", 7, "5 kg pkg."),
    ("Rhönbräu Klosterbier", 1, "24 - 0.5 l bottles"), ("Lakkalikööri", 1, "500 ml"),
    ("Original Frankfurter grüne Soße", 2, "12 boxes"),
]  # fmt: skip

SUPPLIERS = [
    ("Exotic Liquids", "Charlotte Cooper", "Purchasing Manager", "49 Gilbert St.", "London", None, "EC1 4SD", "UK",
     "(171) 555-2222"),
    ("New Orleans Cajun Delights", "Shelley Burke", "Order Administrator", "P.O. Box 78934", "New Orleans", "LA",
     "70117", "USA", "(100) 555-4822"),
    ("Grandma Kelly's Homestead", "Regina Murphy", "Sales Representative", "707 Oxford Rd.", "Ann Arbor", "MI",
     "48104", "USA", "(313) 555-5735"),
    ("Tokyo Traders", "Yoshi Nagase", "Marketing Manager", "9-8 Sekimai Musashino-shi", "Tokyo", None, "100",
     "Japan", "(03) 3555-5011"),
    ("Cooperativa de Quesos 'Las Cabras'", "Antonio del Valle Saavedra", "Export Administrator",
     "Calle del Rosal 4", "Oviedo", "Asturias", "33007", "Spain", "(98) 598 76 54"),
    ("Mayumi's", "Mayumi Ohno", "Marketing Representative", "92 Setsuko Chuo-ku", "Osaka", None, "545", "Japan",
     "(06) 431-7877"),
    ("Pavlova, Ltd.", "Ian Devling", "Marketing Manager", "74 Rose St. Moonie Ponds", "Melbourne", "Victoria",
     "3058", "Australia", "(03) 444-2343"),
    ("Specialty Biscuits, Ltd.", "Peter Wilson", "Sales Representative", "29 King's Way", "Manchester", None,
     "M14 GSD", "UK", "(161) 555-4448"),
    ("PB Knäckebröd AB", "Lars Peterson", "Sales Agent", "Kaloadagatan 13", "Göteborg", None, "S-345 67", "Sweden",
     "031-987 65 43"),
    ("Refrescos Americanas LTDA", "Carlos Diaz", "Marketing Manager", "Av. das Americanas 12.890", "São Paulo",
     None, "5442", "Brazil", "(11) 555 4640"),
    ("Heli Süßwaren GmbH & Co. KG", "Petra Winkler", "Sales Manager", "Tiergartenstraße 5", "Berlin", None, "10785",
     "Germany", "(010) 9984510"),
    ("Plutzer Lebensmittelgroßmärkte AG", "Martin Bein", "International Marketing Mgr.", "Bogenallee 51",
     "Frankfurt", None, "60439", "Germany", "(069) 992755"),
]

EMPLOYEES = [
    ("Davolio", "Nancy", "Sales Representative", "Ms.", "507 - 20th Ave. E. Apt. 2A", "Seattle", "WA", "USA"),
    ("Fuller", "Andrew", "Vice President, Sales", "Dr.", "908 W. Capital Way", "Tacoma", "WA", "USA"),
    ("Leverling", "Janet", "Sales Representative", "Ms.", "722 Moss Bay Blvd.", "Kirkland", "WA", "USA"),
    ("Peacock", "Margaret", "Sales Representative", "Mrs.", "4110 Old Redmond Rd.", "Redmond", "WA", "USA"),
    ("Buchanan", "Steven", "Sales Manager", "Mr.", "14 Garrett Hill", "London", None, "UK"),
    ("Suyama", "Michael", "Sales Representative", "Mr.", "Coventry House Miner Rd.", "London", None, "UK"),
    ("King", "Robert", "Sales Representative", "Mr.", "Edgeham Hollow Winchester Way", "London", None, "UK"),
    ("Callahan", "Laura", "Inside Sales Coordinator", "Ms.", "4726 - 11th Ave. N.E.", "Seattle", "WA", "USA"),
    ("Dodsworth", "Anne", "Sales Representative", "Ms.", "7 Houndstooth Rd.", "London", None, "UK"),
]

REGIONS = ["Eastern", "Western", "Northern", "Southern"]
# (territory, region number from 1)
TERRITORIES = [
    ("Westboro", 1), ("Bedford", 1), ("Georgetown", 1), ("Boston", 1), ("Cambridge", 1), ("Braintree", 1),
    ("Providence", 1), ("Hollis", 3), ("Portsmouth", 3), ("Wilton", 1), ("Morristown", 1), ("Edison", 1),
    ("New York", 1), ("Mellvile", 1), ("Fairport", 1), ("Philadelphia", 3), ("Neward", 1), ("Rockville", 1),
    ("Greensboro", 1), ("Cary", 1), ("Columbia", 4), ("Atlanta", 4), ("Savannah", 4), ("Orlando", 4),
    ("Tampa", 4), ("Louisville", 1), ("Beachwood", 3), ("Findlay", 3), ("Southfield", 3), ("Troy", 3),
    ("Bloomfield Hills", 3), ("Racine", 3), ("Roseville", 3), ("Minneapolis", 3), ("Hoffman Estates", 2),
    ("Chicago", 2), ("Bentonville", 4), ("Dallas", 4), ("Austin", 4), ("Denver", 2), ("Colorado Springs", 2),
    ("Phoenix", 2), ("Scottsdale", 2), ("Santa Monica", 2), ("Menlo Park", 2), ("San Francisco", 2),
    ("Campbell", 2), ("Santa Clara", 2), ("Santa Cruz", 2), ("Bellevue", 2), ("Redmond", 2), ("Seattle", 2),
]  # fmt: skip
SHIPPERS = [("Speedy Express", "(503) 555-9831"), ("United Package", "(503) 555-3199"),
            ("Federal Shipping", "(503) 555-9931")]  # fmt: skip
US_REGIONS = {"West": "AK AZ CA CO HI ID MT NV NM OR UT WA WY", "Midwest": "IL IN IA KS MI MN MO NE ND OH SD WI",
              "South": "AL AR DE DC FL GA KY LA MD MS NC OK SC TN TX VA WV", "Northeast": "CT ME MA NH NJ NY PA RI VT"}

# Lookup tables' label columns, and the columns of public reference data (kept as they are).
LABELS = {"categories": ("category_name", "description"), "region": ("region_description",),
          "territories": ("territory_description",), "us_states": ("state_name", "state_abbr", "state_region")}
PUBLIC = {"products": ("product_name", "quantity_per_unit"), "employees": ("title_of_courtesy",)}
# Columns that name people or organisations, or reach them: never published verbatim.
IDENTIFYING = {
    "suppliers": ("company_name", "contact_name", "address", "phone"),
    "employees": ("last_name", "first_name", "address"),
    "customers": ("company_name", "contact_name", "address", "phone"),
    "shippers": ("company_name", "phone"),
}


def frames(seed: int = 3) -> dict[str, pd.DataFrame]:
    """Every table of the schema, parents first."""
    rng = np.random.default_rng(seed)
    faker = Faker("en_US")
    faker.seed_instance(seed)
    states = [s for s in pycountry.subdivisions.get(country_code="US") if s.type in ("State", "District")]
    region_of = {code: region for region, codes in US_REGIONS.items() for code in codes.split()}
    out = {
        "categories": pd.DataFrame(CATEGORIES, columns=["category_name", "description"]),
        "suppliers": pd.DataFrame(SUPPLIERS, columns=["company_name", "contact_name", "contact_title", "address",
                                                      "city", "region", "postal_code", "country", "phone"]),
        "shippers": pd.DataFrame(SHIPPERS, columns=["company_name", "phone"]),
        "region": pd.DataFrame({"region_description": REGIONS}),
        "us_states": pd.DataFrame({"state_name": [s.name for s in states],
                                   "state_abbr": [s.code[3:] for s in states],
                                   "state_region": [region_of.get(s.code[3:], "South") for s in states]}),
        "employees": pd.DataFrame(EMPLOYEES, columns=["last_name", "first_name", "title", "title_of_courtesy",
                                                      "address", "city", "region", "country"]),
    }  # fmt: skip
    out["products"] = pd.DataFrame({
        "product_name": [p[0] for p in PRODUCTS],
        "supplier_id": [1 + i % len(SUPPLIERS) for i in range(len(PRODUCTS))],
        "category_id": [p[1] for p in PRODUCTS],
        "quantity_per_unit": [p[2] for p in PRODUCTS],
        "unit_price": np.round(rng.uniform(2.5, 120, len(PRODUCTS)), 2),
        "units_in_stock": rng.integers(0, 120, len(PRODUCTS)),
    })
    out["territories"] = pd.DataFrame(TERRITORIES, columns=["territory_description", "region_id"])
    countries = ["Germany", "USA", "France", "Brazil", "UK", "Spain", "Mexico", "Venezuela", "Italy", "Canada"]
    out["customers"] = pd.DataFrame({
        "company_name": [faker.company() for _ in range(90)],
        "contact_name": [faker.name() for _ in range(90)],
        "contact_title": rng.choice(["Owner", "Sales Representative", "Marketing Manager", "Accounting Manager",
                                     "Order Administrator", "Sales Agent"], 90),
        "address": [faker.street_address() for _ in range(90)],
        "city": [faker.city() for _ in range(90)],
        "country": rng.choice(countries, 90),
        "phone": [faker.phone_number() for _ in range(90)],
    })  # fmt: skip
    n_orders = 800
    out["orders"] = pd.DataFrame({
        "customer_id": rng.integers(1, 91, n_orders),
        "employee_id": rng.integers(1, len(EMPLOYEES) + 1, n_orders),
        "order_date": pd.Timestamp("1997-01-01") + pd.to_timedelta(rng.integers(0, 700, n_orders), unit="D"),
        "ship_via": rng.integers(1, len(SHIPPERS) + 1, n_orders),
        "freight": np.round(rng.gamma(2.0, 40.0, n_orders), 2),
        "ship_country": rng.choice(countries, n_orders),
    })  # fmt: skip
    n_lines = 2000
    out["order_details"] = pd.DataFrame({
        "order_id": rng.integers(1, n_orders + 1, n_lines),
        "product_id": rng.integers(1, len(PRODUCTS) + 1, n_lines),
        "quantity": rng.integers(1, 60, n_lines),
        "discount": rng.choice([0.0, 0.05, 0.1, 0.15, 0.2, 0.25], n_lines),
    })  # fmt: skip
    out["employee_territories"] = pd.DataFrame({
        "employee_id": [1 + i % len(EMPLOYEES) for i in range(len(TERRITORIES))],
        "territory_id": list(range(1, len(TERRITORIES) + 1)),
    })
    return out


_KEYS = {
    "categories": ("category_id", {}), "suppliers": ("supplier_id", {}), "shippers": ("shipper_id", {}),
    "region": ("region_id", {}), "us_states": ("state_id", {}), "employees": ("employee_id", {}),
    "products": ("product_id", {"supplier_id": "suppliers", "category_id": "categories"}),
    "territories": ("territory_id", {"region_id": "region"}), "customers": ("customer_id", {}),
    "orders": ("order_id", {"customer_id": "customers", "employee_id": "employees", "ship_via": "shippers"}),
    "order_details": ("order_detail_id", {"order_id": "orders", "product_id": "products"}),
    "employee_territories": ("employee_territory_id", {"employee_id": "employees", "territory_id": "territories"}),
}  # fmt: skip


def build(path: Path, seed: int = 3) -> str:
    """Write the schema to a SQLite file at ``path``; returns its SQLAlchemy URL."""
    url = f"sqlite:///{path}"
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    data = frames(seed)
    for table, frame in data.items():
        key, parents = _KEYS[table]
        columns = [sa.Column(key, sa.Integer, primary_key=True)]
        for name, dtype in frame.dtypes.items():
            if name in parents:
                columns.append(sa.Column(name, sa.Integer, sa.ForeignKey(f"{parents[name]}.{_KEYS[parents[name]][0]}")))
            elif pd.api.types.is_integer_dtype(dtype):
                columns.append(sa.Column(name, sa.Integer))
            elif pd.api.types.is_float_dtype(dtype):
                columns.append(sa.Column(name, sa.Numeric(10, 2)))
            elif pd.api.types.is_datetime64_any_dtype(dtype):
                columns.append(sa.Column(name, sa.Date))
            else:
                columns.append(sa.Column(name, sa.String(80)))
        sa.Table(table, metadata, *columns)
    metadata.create_all(engine)
    with engine.begin() as con:
        for table, frame in data.items():
            rows = frame.assign(**{_KEYS[table][0]: range(1, len(frame) + 1)})
            if "order_date" in rows:
                rows["order_date"] = rows["order_date"].dt.date
            con.execute(metadata.tables[table].insert(), rows.astype(object).where(rows.notna(), None).to_dict("records"))
    engine.dispose()
    return url
