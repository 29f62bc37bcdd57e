"""Word pools the demo population is drawn from (all invented; no real person's data).

Names carry an ASCII spelling for building email addresses. Phones use the 555 exchange and
the fictional UK/AU ranges, so no generated number should ring a real person.
"""

from __future__ import annotations

# (display, ascii for emails). Accents, CJK, apostrophes and hyphens on purpose.
FIRST_NAMES: tuple[tuple[str, str], ...] = (
    ("James", "james"), ("Mary", "mary"), ("Robert", "robert"), ("Patricia", "patricia"),
    ("John", "john"), ("Jennifer", "jennifer"), ("Michael", "michael"), ("Linda", "linda"),
    ("David", "david"), ("Elizabeth", "elizabeth"), ("William", "william"), ("Barbara", "barbara"),
    ("Richard", "richard"), ("Susan", "susan"), ("Joseph", "joseph"), ("Jessica", "jessica"),
    ("Thomas", "thomas"), ("Sarah", "sarah"), ("Christopher", "christopher"), ("Karen", "karen"),
    ("Daniel", "daniel"), ("Lisa", "lisa"), ("Matthew", "matthew"), ("Nancy", "nancy"),
    ("Anthony", "anthony"), ("Sandra", "sandra"), ("Mark", "mark"), ("Ashley", "ashley"),
    ("Emily", "emily"), ("Michelle", "michelle"), ("Amanda", "amanda"), ("Melissa", "melissa"),
    ("Rebecca", "rebecca"), ("Laura", "laura"), ("Hannah", "hannah"), ("Olivia", "olivia"),
    ("Sophia", "sophia"), ("Ava", "ava"), ("Noah", "noah"), ("Liam", "liam"), ("Ethan", "ethan"),
    ("Grace", "grace"), ("Chloe", "chloe"), ("Zoe", "zoe"), ("Maya", "maya"), ("Leah", "leah"),
    ("Rachel", "rachel"), ("Rose", "rose"), ("Julia", "julia"), ("Claire", "claire"),
    ("José", "jose"), ("María", "maria"), ("Zoë", "zoe"), ("Renée", "renee"), ("Chloé", "chloe"),
    ("André", "andre"), ("François", "francois"), ("Søren", "soren"), ("Björn", "bjorn"),
    ("Inés", "ines"), ("Raúl", "raul"), ("Lucía", "lucia"), ("Élodie", "elodie"),
    ("Mary-Kate", "marykate"), ("Jean-Luc", "jeanluc"), ("Anne-Marie", "annemarie"),
    ("D'Andre", "dandre"), ("Priya", "priya"), ("Aarav", "aarav"), ("Ananya", "ananya"),
    ("Kwame", "kwame"), ("Amara", "amara"), ("Chen", "chen"), ("Hiroshi", "hiroshi"),
    ("Yuki", "yuki"), ("Mei", "mei"), ("Sakura", "sakura"), ("Seo-yeon", "seoyeon"),
    ("美玲", "meiling"), ("翔太", "shota"), ("伟", "wei"), ("Aoife", "aoife"), ("Siobhán", "siobhan"),
    ("Niamh", "niamh"), ("Declan", "declan"), ("Moana", "moana"), ("Kai", "kai"), ("Skye", "skye"),
    ("River", "river"), ("Sage", "sage"), ("Willow", "willow"), ("Luna", "luna"), ("Jade", "jade"),
)
# Used as a middle name in Kajabi's full "Name" only.
MIDDLE_NAMES: tuple[str, ...] = ("Ann", "Marie", "Lee", "James", "Lynn", "Rose", "J.", "Elena")

LAST_NAMES: tuple[tuple[str, str], ...] = (
    ("Smith", "smith"), ("Johnson", "johnson"), ("Williams", "williams"), ("Brown", "brown"),
    ("Jones", "jones"), ("Garcia", "garcia"), ("Miller", "miller"), ("Davis", "davis"),
    ("Rodriguez", "rodriguez"), ("Martinez", "martinez"), ("Hernandez", "hernandez"),
    ("Lopez", "lopez"), ("Gonzalez", "gonzalez"), ("Wilson", "wilson"), ("Anderson", "anderson"),
    ("Taylor", "taylor"), ("Moore", "moore"), ("Jackson", "jackson"), ("Martin", "martin"),
    ("Lee", "lee"), ("Thompson", "thompson"), ("White", "white"), ("Harris", "harris"),
    ("Clark", "clark"), ("Lewis", "lewis"), ("Robinson", "robinson"), ("Walker", "walker"),
    ("Young", "young"), ("Allen", "allen"), ("King", "king"), ("Wright", "wright"),
    ("Scott", "scott"), ("Green", "green"), ("Baker", "baker"), ("Adams", "adams"),
    ("Nelson", "nelson"), ("Hill", "hill"), ("Campbell", "campbell"), ("Mitchell", "mitchell"),
    ("Carter", "carter"), ("Roberts", "roberts"), ("Phillips", "phillips"), ("Evans", "evans"),
    ("Turner", "turner"), ("Parker", "parker"), ("Collins", "collins"), ("Edwards", "edwards"),
    ("Stewart", "stewart"), ("Morris", "morris"), ("Murphy", "murphy"), ("Cook", "cook"),
    ("Rogers", "rogers"), ("Morgan", "morgan"), ("Peterson", "peterson"), ("Cooper", "cooper"),
    ("Reed", "reed"), ("Bailey", "bailey"), ("Bell", "bell"), ("Kelly", "kelly"),
    ("Howard", "howard"), ("Ward", "ward"), ("Cox", "cox"), ("Richardson", "richardson"),
    ("Wood", "wood"), ("Brooks", "brooks"), ("Bennett", "bennett"), ("Gray", "gray"),
    ("O'Brien", "obrien"), ("O'Neill", "oneill"), ("D'Angelo", "dangelo"), ("McAllister", "mcallister"),
    ("Smith-Jones", "smithjones"), ("García-López", "garcialopez"), ("Núñez", "nunez"),
    ("Müller", "muller"), ("Søndergaard", "sondergaard"), ("Dubois", "dubois"), ("Lefèvre", "lefevre"),
    ("Patel", "patel"), ("Sharma", "sharma"), ("Nguyen", "nguyen"), ("Tran", "tran"),
    ("Kim", "kim"), ("Park", "park"), ("Tanaka", "tanaka"), ("Suzuki", "suzuki"), ("Wang", "wang"),
    ("Zhang", "zhang"), ("李", "li"), ("王", "wang"), ("佐藤", "sato"), ("Okafor", "okafor"),
    ("Mensah", "mensah"), ("van der Berg", "vanderberg"), ("de la Cruz", "delacruz"),
    ("St. John", "stjohn"), ("Fitzgerald", "fitzgerald"), ("Kowalski", "kowalski"),
)
# Pre-PayPal spellings Kajabi still shows (nickname -> PayPal's legal name is the other way round).
NICKNAMES: tuple[str, ...] = ("Bob", "Liz", "Jen", "Mike", "Kate", "Tom", "Sam", "Chris", "Danny", "Beth")
MAIDEN_NAMES: tuple[str, ...] = ("Fischer", "Holm", "Quinn", "Reyes", "Sato", "Vance", "Whitfield")

EMAIL_DOMAINS: tuple[str, ...] = (
    "gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com", "aol.com",
    "comcast.net", "protonmail.com", "me.com", "msn.com", "example.org", "starhouse-demo.org",
)
EMAIL_DOMAIN_WEIGHTS: tuple[float, ...] = (
    0.42, 0.13, 0.08, 0.07, 0.08, 0.04, 0.04, 0.03, 0.03, 0.02, 0.03, 0.03,
)

# (city, state, country, zip prefix, phone area code). US first and most common.
US_PLACES: tuple[tuple[str, str, str, str], ...] = (
    ("Denver", "CO", "802", "303"), ("Boulder", "CO", "803", "720"), ("Fort Collins", "CO", "805", "970"),
    ("Colorado Springs", "CO", "809", "719"), ("Lakewood", "CO", "802", "303"), ("Longmont", "CO", "805", "720"),
    ("Santa Fe", "NM", "875", "505"), ("Albuquerque", "NM", "871", "505"), ("Austin", "TX", "787", "512"),
    ("San Francisco", "CA", "941", "415"), ("Oakland", "CA", "946", "510"), ("Los Angeles", "CA", "900", "213"),
    ("San Diego", "CA", "921", "619"), ("Portland", "OR", "972", "503"), ("Seattle", "WA", "981", "206"),
    ("New York", "NY", "100", "212"), ("Brooklyn", "NY", "112", "718"), ("Chicago", "IL", "606", "312"),
    ("Boston", "MA", "021", "617"), ("Asheville", "NC", "288", "828"), ("Sedona", "AZ", "863", "928"),
    ("Phoenix", "AZ", "850", "602"), ("Salt Lake City", "UT", "841", "801"), ("Minneapolis", "MN", "554", "612"),
    ("Atlanta", "GA", "303", "404"), ("Miami", "FL", "331", "305"), ("Nashville", "TN", "372", "615"),
    ("Madison", "WI", "537", "608"), ("Burlington", "VT", "054", "802"), ("Honolulu", "HI", "968", "808"),
)
US_PLACE_WEIGHTS: tuple[float, ...] = (
    0.14, 0.09, 0.04, 0.04, 0.03, 0.03, 0.03, 0.02, 0.04, 0.04, 0.02, 0.04, 0.03, 0.04, 0.03,
    0.04, 0.02, 0.03, 0.03, 0.03, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02,
)
# (city, state/province, country, postal code) outside the US.
FOREIGN_PLACES: tuple[tuple[str, str, str, str], ...] = (
    ("Toronto", "ON", "CA", "M5V 2T6"), ("Vancouver", "BC", "CA", "V6B 1A1"), ("Calgary", "AB", "CA", "T2P 1J9"),
    ("London", "", "GB", "SW1A 1AA"), ("Bristol", "", "GB", "BS1 4DJ"), ("Edinburgh", "", "GB", "EH1 1YZ"),
    ("Sydney", "NSW", "AU", "2000"), ("Melbourne", "VIC", "AU", "3000"), ("Byron Bay", "NSW", "AU", "2481"),
)
STREET_NAMES: tuple[str, ...] = (
    "Main", "Oak", "Pine", "Maple", "Cedar", "Elm", "Walnut", "Spruce", "Aspen", "Juniper",
    "Pearl", "Colfax", "Broadway", "Canyon", "Mapleton", "Arapahoe", "Larimer", "Sunset", "Lake",
    "Hill", "Ridge", "Mesa", "Willow", "Birch", "Highland", "Valley", "Park", "River", "Meadow",
)
STREET_SUFFIXES: tuple[str, ...] = ("St", "Ave", "Blvd", "Rd", "Dr", "Ln", "Way", "Ct", "Pl", "Street", "Avenue")
UNIT_PREFIXES: tuple[str, ...] = ("Apt", "Unit", "Suite", "#")
# Junk Kajabi keeps in line 2 that the database had cleaned away.
LINE2_JUNK: tuple[str, ...] = ("StarHouse", "starhouse", ".", "n/a", "-", "none", "same")

TAGS: tuple[str, ...] = (
    "quiz", "newsletter", "Bali 2027 Attendee", "StarHouse Member", "Breathwork", "Retreat Waitlist",
    "Podcast", "Free Class",
)
TAG_PROBABILITIES: tuple[float, ...] = (0.35, 0.55, 0.06, 0.12, 0.18, 0.05, 0.08, 0.22)
PRODUCTS: tuple[str, ...] = (
    "Breathwork Basics", "Sound Healing Course", "Bali 2027 Retreat", "Monthly Membership", "Sacred Cycles",
)
PRODUCT_PROBABILITIES: tuple[float, ...] = (0.30, 0.15, 0.04, 0.18, 0.10)

# Kajabi's "Source (custom_1)" form field; some answers span two lines.
SOURCES: tuple[str, ...] = (
    "", "Instagram", "Friend", "Google", "Podcast", "Newsletter", "Workshop at StarHouse",
    "A friend told me\nabout the retreat", "Facebook ad\n(spring campaign)",
)
SOURCE_WEIGHTS: tuple[float, ...] = (0.45, 0.15, 0.12, 0.08, 0.06, 0.05, 0.05, 0.02, 0.02)

ZOHO_ID_BASE = 4_876_876_000_000_000_000
KAJABI_ID_BASE = 2_100_000_000
KAJABI_MEMBER_ID_BASE = 1_600_000_000
