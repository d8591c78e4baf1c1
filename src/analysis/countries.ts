/**
 * Country names for `probe --set countries`: the 193 member states of the United Nations and its two observer
 * states (the Holy See and Palestine), 195 in all, each under the short name people write in a sentence
 * ("Ivory Coast", "North Korea", "Vatican City"), as a probe template wants them.
 */
export const COUNTRIES: readonly string[] = Object.freeze([
  "Afghanistan", "Albania", "Algeria", "Andorra", "Angola", "Antigua and Barbuda", "Argentina", "Armenia",
  "Australia", "Austria", "Azerbaijan", "the Bahamas", "Bahrain", "Bangladesh", "Barbados", "Belarus", "Belgium",
  "Belize", "Benin", "Bhutan", "Bolivia", "Bosnia and Herzegovina", "Botswana", "Brazil", "Brunei", "Bulgaria",
  "Burkina Faso", "Burundi", "Cape Verde", "Cambodia", "Cameroon", "Canada", "the Central African Republic", "Chad",
  "Chile", "China", "Colombia", "the Comoros", "the Congo", "Costa Rica", "Ivory Coast", "Croatia", "Cuba", "Cyprus",
  "the Czech Republic", "North Korea", "the Democratic Republic of the Congo", "Denmark", "Djibouti", "Dominica",
  "the Dominican Republic", "Ecuador", "Egypt", "El Salvador", "Equatorial Guinea", "Eritrea", "Estonia", "Eswatini",
  "Ethiopia", "Fiji", "Finland", "France", "Gabon", "the Gambia", "Georgia", "Germany", "Ghana", "Greece", "Grenada",
  "Guatemala", "Guinea", "Guinea-Bissau", "Guyana", "Haiti", "Honduras", "Hungary", "Iceland", "India", "Indonesia",
  "Iran", "Iraq", "Ireland", "Israel", "Italy", "Jamaica", "Japan", "Jordan", "Kazakhstan", "Kenya", "Kiribati",
  "Kuwait", "Kyrgyzstan", "Laos", "Latvia", "Lebanon", "Lesotho", "Liberia", "Libya", "Liechtenstein", "Lithuania",
  "Luxembourg", "Madagascar", "Malawi", "Malaysia", "the Maldives", "Mali", "Malta", "the Marshall Islands",
  "Mauritania", "Mauritius", "Mexico", "Micronesia", "Monaco", "Mongolia", "Montenegro", "Morocco", "Mozambique",
  "Myanmar", "Namibia", "Nauru", "Nepal", "the Netherlands", "New Zealand", "Nicaragua", "Niger", "Nigeria",
  "North Macedonia", "Norway", "Oman", "Pakistan", "Palau", "Panama", "Papua New Guinea", "Paraguay", "Peru",
  "the Philippines", "Poland", "Portugal", "Qatar", "South Korea", "Moldova", "Romania", "Russia", "Rwanda",
  "Saint Kitts and Nevis", "Saint Lucia", "Saint Vincent and the Grenadines", "Samoa", "San Marino",
  "Sao Tome and Principe", "Saudi Arabia", "Senegal", "Serbia", "Seychelles", "Sierra Leone", "Singapore",
  "Slovakia", "Slovenia", "the Solomon Islands", "Somalia", "South Africa", "South Sudan", "Spain", "Sri Lanka",
  "Sudan", "Suriname", "Sweden", "Switzerland", "Syria", "Tajikistan", "Thailand", "East Timor", "Togo", "Tonga",
  "Trinidad and Tobago", "Tunisia", "Turkey", "Turkmenistan", "Tuvalu", "Uganda", "Ukraine",
  "the United Arab Emirates", "the United Kingdom", "Tanzania", "the United States", "Uruguay", "Uzbekistan",
  "Vanuatu", "Venezuela", "Vietnam", "Yemen", "Zambia", "Zimbabwe",
  // observer states
  "Vatican City", "Palestine",
]);

/** Named value lists for `probe --set NAME`. */
export const VALUE_SETS: Readonly<Record<string, readonly string[]>> = Object.freeze({ countries: COUNTRIES });
