"""What synthetic users, songs and artists are made of: names, places, agents, words, page habits."""

from __future__ import annotations

import string

from sparkify_assets.sample_data.formats import QUOTE

# fmt: off
# Organic page choice of a logged-in user by level, tuned so the overall mix (with the Home/Login/
# Logout/Save Settings that the multi-page flows add) lands near the real one: NextSong ~85%,
# Home ~10%, Login/Logout ~1.1% each, Downgrade 0.7%, Settings 0.7%, Help 0.6%, About 0.45%, ...
# Free users browse more and listen less, as in the real data.
LEVEL_PAGES: dict[str, tuple[tuple[str, float], ...]] = {
    "free": (("NextSong", 0.8), ("Home", 0.1), ("Logout", 0.012), ("Settings", 0.007), ("Help", 0.006),
             ("About", 0.004), ("Upgrade", 0.01), ("Error", 0.0015)),
    "paid": (("NextSong", 0.915), ("Home", 0.032), ("Logout", 0.01), ("Settings", 0.007), ("Help", 0.006),
             ("About", 0.004), ("Downgrade", 0.009), ("Error", 0.0012)),
}

# Vocabulary.  User names are ASCII-only, as in the real logs; song and artist names are not.
FIRST_F = (
    "Lily", "Kaylee", "Chloe", "Tegan", "Jacqueline", "Ava", "Aleena", "Adelyn", "Alivia", "Amiya",
    "Anabelle", "Andrea", "Ann", "Avery", "Ayla", "Brooklyn", "Cecilia", "Celeste", "Elizabeth", "Emily",
    "Harper", "Isabella", "Jayden", "Katherine", "Kinsley", "Layla", "Madison", "Mikayla", "Olivia",
    "Rylan", "Sara", "Sienna", "Stefany", "Tiffany", "Zoe", "Renee",
)
FIRST_M = (
    "Walter", "Jacob", "Ryan", "Aiden", "Austin", "Adler", "Anthony", "Benjamin", "Brayden", "Colm",
    "Connar", "Dustin", "Elijah", "Ethan", "Jordan", "Kevin", "Lucas", "Matthew", "Mohammad", "Noah",
    "Oliver", "Samuel", "Theodore", "Tucker", "Wyatt", "Zachary", "Jose", "Andre",
)
LAST = (
    "Frye", "Summers", "Koch", "Cuevas", "Levine", "Lynch", "Rogers", "Robinson", "Hess", "Ramirez",
    "Kirby", "Terrell", "Davidson", "Simpson", "Butler", "Banks", "Rosales", "Martinez", "Watkins",
    "Johnson", "Jordan", "Barrera", "Harrell", "Fox", "Garrison", "Griffin", "Herman", "Owens", "Pena",
    "Santiago", "Smith", "Thompson", "Vaughn", "Williams", "Young", "Mueller", "Nunez", "Sorensen",
)
METROS = (
    "San Francisco-Oakland-Hayward, CA", "Portland-South Portland, ME", "Lansing-East Lansing, MI",
    "Chicago-Naperville-Elgin, IL-IN-WI", "Atlanta-Sandy Springs-Roswell, GA",
    "Phoenix-Mesa-Scottsdale, AZ", "New York-Newark-Jersey City, NY-NJ-PA",
    "Los Angeles-Long Beach-Anaheim, CA", "Birmingham-Hoover, AL", "Houston-The Woodlands-Sugar Land, TX",
    "Seattle-Tacoma-Bellevue, WA", "Dallas-Fort Worth-Arlington, TX", "Detroit-Warren-Dearborn, MI",
    "Columbia, SC", "Eugene, OR", "Cedar Rapids, IA", "Elkhart-Goshen, IN",
    "Tampa-St. Petersburg-Clearwater, FL", "Augusta-Richmond County, GA-SC", "Harrisburg-Carlisle, PA",
    "Winston-Salem, NC", "Janesville-Beloit, WI", "Red Bluff, CA", "Eureka-Arcata-Fortuna, CA",
    "Philadelphia-Camden-Wilmington, PA-NJ-DE-MD", "Miami-Fort Lauderdale-West Palm Beach, FL",
)
AGENTS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_4) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/36.0.1985.143 Safari/537.36",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/35.0.1916.153 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_4) AppleWebKit/537.78.2 (KHTML, like Gecko) "
    "Version/7.0.6 Safari/537.78.2",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/36.0.1985.125 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 7_1_2 like Mac OS X) AppleWebKit/537.51.2 (KHTML, like Gecko) "
    "Version/7.0 Mobile/11D257 Safari/9537.53",
    "Mozilla/5.0 (Windows NT 6.3; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/36.0.1985.143 Safari/537.36",
    "Mozilla/5.0 (Windows NT 5.1; rv:31.0) Gecko/20100101 Firefox/31.0",
    "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:31.0) Gecko/20100101 Firefox/31.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.9; rv:31.0) Gecko/20100101 Firefox/31.0",
    "Mozilla/5.0 (Windows NT 6.3; WOW64; Trident/7.0; rv:11.0) like Gecko",
    "Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.1; WOW64; Trident/6.0)",
)
# (artist_location, latitude, longitude); some real locations are just a state or a country.
PLACES: tuple[tuple[str, float, float], ...] = (
    ("Nashville, TN.", 36.16778, -86.77836), ("California - LA", 34.05349, -118.24532),
    ("California - SF", 37.77916, -122.42005), ("London, England", 51.50632, -0.12714),
    ("Memphis, TN", 35.14968, -90.04892), ("Denmark", 56.27609, 9.51695),
    ("New York, NY", 40.71455, -74.00712), ("Chicago, IL", 41.88415, -87.63241),
    ("Toronto, Ontario, Canada", 43.64856, -79.38533), ("Houston, TX", 29.76045, -95.36978),
    ("Seattle, WA", 47.60356, -122.32944), ("Montr\u00e9al, Qu\u00e9bec, Canada", 45.51228, -73.55439),
    ("S\u00e3o Paulo, Brasil", -23.56288, -46.65466), ("Berlin, Germany", 52.51607, 13.37698),
    ("Paris, France", 48.85692, 2.34121), ("Stockholm, Sweden", 59.33217, 18.06243),
    ("Kingston, Jamaica", 17.99702, -76.79358), ("Atlanta, GA", 33.74831, -84.39111),
    ("Detroit, MI", 42.33168, -83.04792), ("Ohio", 40.41, -82.71),
    ("Reykjav\u00edk, Iceland", 64.13548, -21.89541), ("Dublin, Ireland", 53.34376, -6.24953),
    ("Austin, TX", 30.26759, -97.74299), ("Glasgow, Scotland", 55.85702, -4.24365),
    ("Texas", 31.1686, -100.07715), ("United States", 37.16793, -95.84502),
    ("Pennsylvania", 40.99471, -77.60454), ("Sydney, Australia", -33.86963, 151.20695),
    ("Mexico City, Mexico", 19.43268, -99.13421), ("New York, NY [Spanish Harlem]", 40.79086, -73.94745),
)
WORDS = (
    "Love", "Night", "Fire", "Heart", "Rain", "Summer", "Dream", "Gun", "Rose", "City", "River", "Blue",
    "Gold", "Ghost", "Shadow", "Light", "Road", "Home", "Dance", "Sky", "Time", "Girl", "Boy", "Moon",
    "Star", "Train", "Sea", "Wind", "Stone", "Angel", "Devil", "Baby", "Fool", "Song", "Paradise", "Money",
    "Highway", "Radio", "Soul", "Tonight", "Forever", "Machine", "Mirror", "Window", "Tiger", "Ocean",
    "Thunder", "Letter", "Garden", "Kingdom", "Island", "Echo", "Storm", "Diamond", "Bridge", "Tonne",
)
ADJECTIVES = (
    "Wild", "Broken", "Lonely", "Sweet", "Crazy", "Little", "Lost", "Dark", "Golden", "Electric", "Silent",
    "Burning", "Loaded", "Cold", "Hollow", "Velvet", "Strange", "Young", "Holy", "Midnight", "Ten",
)
FOREIGN = (
    "Corazón", "Café", "Mañana", "Señorita", "Über", "Fête", "Désolé", "Niño", "Canción", "Sueño", "Pájaro",
    "Été", "Mädchen", "Fräulein", "Smörgåsbord", "Øresund", "Noël", "Ça Va", "Adiós", "Señor",
)
# fmt: on
CONTRACTIONS = (f"Don{QUOTE}t", f"It{QUOTE}s", f"Can{QUOTE}t")
SUFFIXES = ("Live", "Album Version", "Remix", "Radio Edit", "Acoustic", "LP Version", "Back 2 Basics Mix")
UPPER = string.ascii_uppercase
HEX = "0123456789ABCDEF"
ALNUM = string.ascii_uppercase + string.digits
