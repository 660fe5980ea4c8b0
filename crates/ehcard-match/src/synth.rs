//! A synthetic population of a North-Indian city with planted duplicates,
//! deterministic from a seed.
//!
//! Households of 1-8 in ~250 wards share a family name, a household id and
//! often a phone; names are drawn with a skewed (Zipf-like) frequency from
//! Hindu, Muslim and Sikh lists, each with its Devanagari spelling, so
//! common-name collisions ("Ram Kumar", "Mohammad Khan" born the same year in
//! another ward) arise by themselves, as do brothers sharing a father, a
//! phone and a family name, twins, and sons named after their fathers.
//! About 70% of birth dates are known (one in ten of those a placeholder
//! 1 January), the rest are an estimated year (±2); adults mostly have voter
//! ids, 60% phones, half a Devanagari full name.
//!
//! `population(n, dup_rate, seed)` makes `n` people, then gives a random
//! `dup_rate` share of them a second record appended to the population (so
//! it holds about `n * (1 + dup_rate)` records) with a random mix of:
//! spelling variant (Latin variants such as Laxmi/Lakshmi, Mohd/Mohammad,
//! Choudhary/Chowdhury, vowel and consonant respellings, or the name written
//! in Devanagari), one typo, the date of birth replaced by an estimated year
//! (off by 0..=2), the voter id missing, another phone or none, another ward
//! and household, the Hindi name or relative's name dropped or respelled.
//! Records are shuffled so duplicates are not adjacent.

use crate::Person;

/// A synthetic population and its ground truth.
#[derive(Clone, Debug, Default)]
pub struct Synth {
    pub people: Vec<Person>,
    /// Index pairs (a < b) that are the same person.
    pub truth: Vec<(usize, usize)>,
}

/// splitmix64.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next_u64() % n as u64) as usize }
    }
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    pub fn range(&mut self, lo: i32, hi: i32) -> i32 {
        lo + self.below((hi - lo + 1) as usize) as i32
    }
}

const HINDU_M: &str = "Ram:राम,Ramesh:रमेश,Suresh:सुरेश,Rajesh:राजेश,Sunil:सुनील,Anil:अनिल,Manoj:मनोज,Sanjay:संजय,\
Vijay:विजय,Rakesh:राकेश,Mukesh:मुकेश,Dinesh:दिनेश,Mahesh:महेश,Ashok:अशोक,Santosh:संतोष,Shyam:श्याम,Amit:अमित,\
Rahul:राहुल,Deepak:दीपक,Pankaj:पंकज,Vinod:विनोद,Pramod:प्रमोद,Naresh:नरेश,Umesh:उमेश,Ganesh:गणेश,Ajay:अजय,\
Sumit:सुमित,Rohit:रोहित,Vikas:विकास,Vivek:विवेक,Alok:आलोक,Manish:मनीष,Ravi:रवि,Raju:राजू,Sonu:सोनू,Monu:मोनू,\
Pappu:पप्पू,Gopal:गोपाल,Krishna:कृष्ण,Mohan:मोहन,Sohan:सोहन,Rohan:रोहन,Arjun:अर्जुन,Arun:अरुण,Varun:वरुण,\
Tarun:तरुण,Karan:करण,Hari:हरि,Harish:हरीश,Girish:गिरीश,Satish:सतीश,Jagdish:जगदीश,Rajendra:राजेंद्र,\
Surendra:सुरेंद्र,Mahendra:महेंद्र,Narendra:नरेंद्र,Jitendra:जितेंद्र,Dharmendra:धर्मेंद्र,Virendra:वीरेंद्र,\
Devendra:देवेंद्र,Shiv:शिव,Shankar:शंकर,Om:ओम,Prakash:प्रकाश,Ramkishan:रामकिशन,Kishan:किशन,Lakhan:लखन,\
Bablu:बबलू,Sachin:सचिन,Nitin:नितिन,Ankit:अंकित,Abhishek:अभिषेक,Aditya:आदित्य,Akash:आकाश,Vishal:विशाल,\
Gaurav:गौरव,Saurabh:सौरभ,Kuldeep:कुलदीप,Sandeep:संदीप,Pradeep:प्रदीप,Dilip:दिलीप,Ramchandra:रामचंद्र,\
Lalit:ललित,Mukund:मुकुंद,Brijesh:बृजेश,Yogesh:योगेश,Hemant:हेमंत,Chandan:चंदन,Bhagwan:भगवान,Jai:जय,Kamal:कमल,\
Nand:नंद,Shubham:शुभम,Ritesh:रितेश,Neeraj:नीरज,Praveen:प्रवीण,Ashish:आशीष,Kapil:कपिल,Hemraj:हेमराज,\
Bhola:भोला,Jagannath:जगन्नाथ,Laxman:लक्ष्मण,Bharat:भरत,Shatrughan:शत्रुघ्न,Ramswaroop:रामस्वरूप";

const HINDU_F: &str = "Sunita:सुनीता,Anita:अनीता,Geeta:गीता,Sita:सीता,Rita:रीता,Lakshmi:लक्ष्मी,Savitri:सावित्री,\
Kamla:कमला,Shanti:शांति,Sarita:सरिता,Kavita:कविता,Mamta:ममता,Pooja:पूजा,Priya:प्रिया,Neha:नेहा,Anjali:अंजलि,\
Rekha:रेखा,Usha:उषा,Asha:आशा,Nisha:निशा,Manju:मंजू,Saroj:सरोज,Suman:सुमन,Poonam:पूनम,Seema:सीमा,Reena:रीना,\
Meena:मीना,Kiran:किरण,Radha:राधा,Rani:रानी,Sushila:सुशीला,Urmila:उर्मिला,Pushpa:पुष्पा,Kusum:कुसुम,\
Rajkumari:राजकुमारी,Sangeeta:संगीता,Jyoti:ज्योति,Preeti:प्रीति,Sapna:सपना,Sonia:सोनिया,Pinki:पिंकी,Guddi:गुड्डी,\
Babita:बबीता,Renu:रेणु,Shobha:शोभा,Kanta:कांता,Parvati:पार्वती,Durga:दुर्गा,Ganga:गंगा,Lalita:ललिता,Vimla:विमला,\
Nirmala:निर्मला,Shalini:शालिनी,Deepa:दीपा,Ritu:ऋतु,Shweta:श्वेता,Sakshi:साक्षी,Komal:कोमल,Khushboo:ख़ुशबू,\
Madhu:मधु,Sudha:सुधा,Pramila:प्रमिला,Kalawati:कलावती,Bimla:बिमला,Champa:चंपा,Sarla:सरला,Aarti:आरती,Divya:दिव्या";

const MUSLIM_M: &str = "Mohammad:मोहम्मद,Ahmad:अहमद,Imran:इमरान,Salman:सलमान,Irfan:इरफ़ान,Rizwan:रिज़वान,\
Farhan:फ़रहान,Arif:आरिफ़,Asif:आसिफ़,Wasim:वसीम,Nadeem:नदीम,Naeem:नईम,Salim:सलीम,Shakeel:शकील,Jameel:जमील,\
Aslam:असलम,Akram:अकरम,Iqbal:इक़बाल,Rashid:राशिद,Sajid:साजिद,Zahid:ज़ाहिद,Javed:जावेद,Shahid:शाहिद,Khalid:ख़ालिद,\
Faisal:फ़ैसल,Usman:उस्मान,Yusuf:यूसुफ़,Ibrahim:इब्राहिम,Ismail:इस्माइल,Rahim:रहीम,Karim:करीम,Hasan:हसन,\
Hussain:हुसैन,Ali:अली,Anwar:अनवर,Mustafa:मुस्तफ़ा,Sameer:समीर,Aamir:आमिर,Danish:दानिश,Shoaib:शोएब,Tariq:तारिक़,\
Akhtar:अख़्तर,Mehboob:महबूब,Nasir:नासिर";

const MUSLIM_F: &str = "Fatima:फ़ातिमा,Ayesha:आयशा,Shabana:शबाना,Shahnaz:शहनाज़,Nasreen:नसरीन,Parveen:परवीन,\
Rukhsana:रुख़साना,Salma:सलमा,Zubeda:ज़ुबैदा,Razia:रज़िया,Noor:नूर,Farzana:फ़रज़ाना,Shaheen:शाहीन,Sana:सना,\
Rubina:रुबीना,Naziya:नाज़िया,Tabassum:तबस्सुम,Afsana:अफ़साना,Yasmin:यास्मीन,Sultana:सुल्ताना,Hina:हिना,\
Amina:अमीना,Khadija:ख़दीजा,Mehrunnisa:मेहरुन्निसा,Gulshan:गुलशन,Reshma:रेशमा,Shamim:शमीम";

const SIKH_M: &str = "Gurpreet:गुरप्रीत,Harpreet:हरप्रीत,Manpreet:मनप्रीत,Jaspreet:जसप्रीत,Gurmeet:गुरमीत,\
Harjeet:हरजीत,Jaswant:जसवंत,Balwinder:बलविंदर,Kulwant:कुलवंत,Sukhwinder:सुखविंदर,Amarjeet:अमरजीत,\
Paramjeet:परमजीत,Baldev:बलदेव,Gurdeep:गुरदीप,Harbhajan:हरभजन,Inderjeet:इंद्रजीत,Ranjit:रणजीत,Jagjit:जगजीत,\
Satnam:सतनाम,Daljeet:दलजीत";

const SIKH_F: &str = "Gurpreet:गुरप्रीत,Harpreet:हरप्रीत,Manpreet:मनप्रीत,Jaspreet:जसप्रीत,Simran:सिमरन,\
Harleen:हरलीन,Navneet:नवनीत,Rajwinder:राजविंदर,Kuljeet:कुलजीत,Jasleen:जसलीन,Amrit:अमृत,Sukhpreet:सुखप्रीत,\
Mandeep:मनदीप,Gurleen:गुरलीन";

const HINDU_FAM: &str = "Sharma:शर्मा,Kumar:कुमार,Verma:वर्मा,Gupta:गुप्ता,Yadav:यादव,Singh:सिंह,Chaudhary:चौधरी,\
Jain:जैन,Mishra:मिश्रा,Tiwari:तिवारी,Pandey:पांडेय,Dubey:दुबे,Shukla:शुक्ला,Srivastava:श्रीवास्तव,\
Agarwal:अग्रवाल,Bansal:बंसल,Goyal:गोयल,Mittal:मित्तल,Garg:गर्ग,Saxena:सक्सेना,Rastogi:रस्तोगी,Thakur:ठाकुर,\
Rawat:रावत,Negi:नेगी,Bisht:बिष्ट,Chauhan:चौहान,Rathore:राठौर,Tomar:तोमर,Prajapati:प्रजापति,Kushwaha:कुशवाहा,\
Maurya:मौर्य,Pal:पाल,Saini:सैनी,Jatav:जाटव,Valmiki:वाल्मीकि,Paswan:पासवान,Prasad:प्रसाद,Lal:लाल,Nishad:निषाद,\
Kashyap:कश्यप,Sahu:साहू,Gautam:गौतम,Bhardwaj:भारद्वाज,Dwivedi:द्विवेदी,Trivedi:त्रिवेदी,Chaturvedi:चतुर्वेदी,\
Upadhyay:उपाध्याय,Joshi:जोशी,Pathak:पाठक,Tripathi:त्रिपाठी,Dixit:दीक्षित,Awasthi:अवस्थी,Bajpai:बाजपेयी,\
Sinha:सिन्हा,Arora:अरोड़ा,Khanna:खन्ना,Kapoor:कपूर,Malhotra:मल्होत्रा,Tyagi:त्यागी,Rajput:राजपूत,Solanki:सोलंकी,\
Chand:चंद,Ram:राम";

const MUSLIM_FAM: &str = "Khan:ख़ान,Ansari:अंसारी,Qureshi:क़ुरैशी,Siddiqui:सिद्दीक़ी,Sheikh:शेख़,Saifi:सैफ़ी,\
Malik:मलिक,Mirza:मिर्ज़ा,Rizvi:रिज़वी,Naqvi:नक़वी,Syed:सैयद,Pathan:पठान,Hashmi:हाशमी,Usmani:उस्मानी,\
Farooqui:फ़ारूक़ी,Abbasi:अब्बासी,Salmani:सलमानी,Mansoori:मंसूरी,Idrisi:इदरीसी,Alvi:अल्वी,Rahman:रहमान,\
Ahmed:अहमद,Hussain:हुसैन,Beg:बेग";

const SIKH_FAM: &str = "Singh:सिंह,Gill:गिल,Sandhu:संधू,Sidhu:सिद्धू,Dhillon:ढिल्लों,Grewal:ग्रेवाल,Bedi:बेदी,\
Bajwa:बाजवा,Randhawa:रंधावा";

type Name = (&'static str, &'static str);

fn parse(list: &'static str) -> Vec<Name> {
    list.split(',').filter_map(|e| e.split_once(':')).collect()
}

struct Lists {
    hindu_m: Vec<Name>,
    hindu_f: Vec<Name>,
    muslim_m: Vec<Name>,
    muslim_f: Vec<Name>,
    sikh_m: Vec<Name>,
    sikh_f: Vec<Name>,
    hindu_fam: Vec<Name>,
    muslim_fam: Vec<Name>,
    sikh_fam: Vec<Name>,
}

/// Number of distinct given names and family names in the lists.
pub fn name_counts() -> (usize, usize) {
    let l = lists();
    let mut g: Vec<&str> = [&l.hindu_m, &l.hindu_f, &l.muslim_m, &l.muslim_f, &l.sikh_m, &l.sikh_f]
        .iter()
        .flat_map(|v| v.iter().map(|n| n.0))
        .collect();
    g.sort_unstable();
    g.dedup();
    let mut f: Vec<&str> =
        [&l.hindu_fam, &l.muslim_fam, &l.sikh_fam].iter().flat_map(|v| v.iter().map(|n| n.0)).collect();
    f.sort_unstable();
    f.dedup();
    (g.len(), f.len())
}

fn lists() -> Lists {
    Lists {
        hindu_m: parse(HINDU_M),
        hindu_f: parse(HINDU_F),
        muslim_m: parse(MUSLIM_M),
        muslim_f: parse(MUSLIM_F),
        sikh_m: parse(SIKH_M),
        sikh_f: parse(SIKH_F),
        hindu_fam: parse(HINDU_FAM),
        muslim_fam: parse(MUSLIM_FAM),
        sikh_fam: parse(SIKH_FAM),
    }
}

/// Zipf-like pick: earlier entries are much more common.
fn pick(rng: &mut Rng, list: &[Name]) -> Name {
    let u = rng.unit().powf(1.5);
    list[((u * list.len() as f64) as usize).min(list.len().saturating_sub(1))]
}

#[derive(Clone, Copy, PartialEq)]
enum Community {
    Hindu,
    Muslim,
    Sikh,
}

/// A name part in both scripts.
#[derive(Clone, Debug)]
struct Two {
    lat: String,
    dev: String,
}

impl Two {
    fn of(n: Name) -> Self {
        Two { lat: n.0.to_string(), dev: n.1.to_string() }
    }
    fn join(&self, other: &Two) -> Two {
        Two { lat: format!("{} {}", self.lat, other.lat), dev: format!("{} {}", self.dev, other.dev) }
    }
}

struct Member {
    given: Two,
    family: Option<Two>,
    male: bool,
    yob: i32,
    relation: &'static str,
    relative: Option<Two>,
}

fn given_for(rng: &mut Rng, l: &Lists, c: Community, male: bool) -> Two {
    match (c, male) {
        (Community::Hindu, true) => {
            let g = Two::of(pick(rng, &l.hindu_m));
            if rng.chance(0.1) && !g.lat.contains("Kumar") { g.join(&Two::of(("Kumar", "कुमार"))) } else { g }
        }
        (Community::Hindu, false) => Two::of(pick(rng, &l.hindu_f)),
        (Community::Muslim, true) => {
            let g = Two::of(pick(rng, &l.muslim_m));
            if rng.chance(0.35) && g.lat != "Mohammad" {
                Two::of(("Mohammad", "मोहम्मद")).join(&g)
            } else {
                g
            }
        }
        (Community::Muslim, false) => Two::of(pick(rng, &l.muslim_f)),
        (Community::Sikh, true) => Two::of(pick(rng, &l.sikh_m)),
        (Community::Sikh, false) => Two::of(pick(rng, &l.sikh_f)),
    }
}

fn family_for(rng: &mut Rng, c: Community, male: bool, yob: i32, fam: &Two) -> Option<Two> {
    let r = rng.unit();
    match (c, male) {
        (Community::Hindu, true) => Some(if r < 0.12 { Two::of(("Kumar", "कुमार")) } else { fam.clone() }),
        (Community::Hindu, false) => Some(if r < 0.6 {
            fam.clone()
        } else if yob > 1995 && r < 0.8 {
            Two::of(("Kumari", "कुमारी"))
        } else {
            Two::of(("Devi", "देवी"))
        }),
        (Community::Muslim, true) => (r < 0.92).then(|| fam.clone()),
        (Community::Muslim, false) => {
            if r < 0.55 {
                Some(fam.clone())
            } else if r < 0.75 {
                Some(Two::of(("Khatoon", "ख़ातून")))
            } else if r < 0.95 {
                Some(Two::of(("Begum", "बेगम")))
            } else {
                None
            }
        }
        (Community::Sikh, true) => Some(if r < 0.75 { Two::of(("Singh", "सिंह")) } else { fam.clone() }),
        (Community::Sikh, false) => Some(if r < 0.8 { Two::of(("Kaur", "कौर")) } else { fam.clone() }),
    }
}

fn full(g: &Two, f: &Option<Two>) -> Two {
    match f {
        Some(f) => g.join(f),
        None => g.clone(),
    }
}

const LETTERS: &[u8] = b"ABCDEFGHJKLMNPRSTUVWXYZ";

/// Generate `n` people plus about `n * dup_rate` planted duplicates.
pub fn population(n: usize, dup_rate: f64, seed: u64) -> Synth {
    let l = lists();
    let mut rng = Rng::new(seed);
    let mut people: Vec<Person> = Vec::with_capacity(n + (n as f64 * dup_rate) as usize + 8);
    // Devanagari forms kept beside each record for variants of duplicates.
    let mut dev: Vec<(Two, Option<Two>, Option<Two>)> = Vec::with_capacity(people.capacity());
    let mut hh = 0usize;
    while people.len() < n {
        hh += 1;
        let ward = 1 + rng.below(250) as u16;
        let household_id = format!("W{ward:03}-H{hh:07}");
        let c = match rng.unit() {
            r if r < 0.75 => Community::Hindu,
            r if r < 0.93 => Community::Muslim,
            _ => Community::Sikh,
        };
        let fam = Two::of(match c {
            Community::Hindu => pick(&mut rng, &l.hindu_fam),
            Community::Muslim => pick(&mut rng, &l.muslim_fam),
            Community::Sikh => pick(&mut rng, &l.sikh_fam),
        });
        let size = match rng.unit() {
            r if r < 0.08 => 1,
            r if r < 0.20 => 2,
            r if r < 0.36 => 3,
            r if r < 0.56 => 4,
            r if r < 0.74 => 5,
            r if r < 0.86 => 6,
            r if r < 0.94 => 7,
            _ => 8,
        };
        let phone_hh = rng.chance(0.75).then(|| format!("{}{:09}", 6 + rng.below(4), rng.below(1_000_000_000)));
        let head_male = rng.chance(0.85);
        let head_yob = rng.range(1948, 2002);
        let grandfather = given_for(&mut rng, &l, c, true).join(&fam);
        let head_given = given_for(&mut rng, &l, c, head_male);
        let head_family = family_for(&mut rng, c, head_male, head_yob, &fam);
        let head_full = full(&head_given, &head_family);
        let mut members = vec![Member {
            given: head_given.clone(),
            family: head_family.clone(),
            male: head_male,
            yob: head_yob,
            relation: "self",
            relative: Some(grandfather.clone()),
        }];
        let father_of_children =
            if head_male { head_full.clone() } else { given_for(&mut rng, &l, c, true).join(&fam) };
        if size >= 2 {
            let male = !head_male;
            let yob = head_yob + if male { -rng.range(0, 6) } else { rng.range(0, 8) };
            let given = given_for(&mut rng, &l, c, male);
            let family = family_for(&mut rng, c, male, yob, &fam);
            members.push(Member { given, family, male, yob, relation: "spouse", relative: Some(head_full.clone()) });
        }
        let mut k = members.len();
        if size >= 4 && head_yob >= 1965 && rng.chance(0.35) {
            // the head's widowed parent
            let male = rng.chance(0.3);
            let yob = head_yob - rng.range(20, 34);
            let given = if male { grandfather_given(&grandfather, &fam) } else { given_for(&mut rng, &l, c, false) };
            let family = if male { Some(fam.clone()) } else { family_for(&mut rng, c, false, yob, &fam) };
            let relative = if male { None } else { Some(grandfather.clone()) };
            let relation = if male { "father" } else { "mother" };
            members.push(Member { given, family, male, yob, relation, relative });
            k += 1;
        }
        let mut prev_child: Option<(Two, bool, i32)> = None;
        while k < size {
            let male = rng.chance(0.52);
            let twin = prev_child.as_ref().filter(|p| rng.chance(0.03) && p.2 > 0).map(|p| p.2);
            let yob = twin.unwrap_or_else(|| head_yob + rng.range(20, 36));
            if yob > 2026 {
                break; // the head is too young for more children
            }
            let given = if male && head_male && rng.chance(0.01) {
                head_given.clone() // a son named after his father
            } else {
                // parents do not give two children the same name
                let mut g = given_for(&mut rng, &l, c, male);
                for _ in 0..8 {
                    if !members.iter().any(|m| m.given.lat == g.lat) {
                        break;
                    }
                    g = given_for(&mut rng, &l, c, male);
                }
                g
            };
            let family = family_for(&mut rng, c, male, yob, &fam);
            prev_child = Some((given.clone(), male, yob));
            members.push(Member {
                given,
                family,
                male,
                yob,
                relation: if male { "son" } else { "daughter" },
                relative: Some(father_of_children.clone()),
            });
            k += 1;
        }
        let mut twin_dob: Option<(i32, String)> = None;
        for m in members {
            if people.len() >= n {
                break;
            }
            let devanagari_fields = rng.chance(0.05);
            let has_dob = rng.chance(0.7);
            let dob = has_dob.then(|| {
                if let Some((y, d)) = &twin_dob
                    && *y == m.yob
                {
                    return d.clone();
                }
                if rng.chance(0.1) {
                    format!("{}-01-01", m.yob)
                } else {
                    format!("{}-{:02}-{:02}", m.yob, 1 + rng.below(12), 1 + rng.below(28))
                }
            });
            if let Some(d) = &dob {
                twin_dob = Some((m.yob, d.clone()));
            }
            let birth_year = if has_dob { m.yob } else { m.yob + [0, 0, 0, 1, -1, 1, -1, 2, -2][rng.below(9)] };
            let adult = m.yob <= 2008;
            let voter_id = (adult && rng.chance(0.85)).then(|| {
                let mut s: String = (0..3).map(|_| LETTERS[rng.below(LETTERS.len())] as char).collect();
                s.push_str(&format!("{:07}", rng.below(10_000_000)));
                s
            });
            let phone = if m.relation == "self" {
                phone_hh.clone()
            } else {
                let r = rng.unit();
                let own = || format!("{}{:09}", 6 + (r * 1000.0) as usize % 4, (r * 1e13) as u64 % 1_000_000_000);
                if adult {
                    if r < 0.5 {
                        phone_hh.clone()
                    } else if r < 0.75 {
                        Some(own())
                    } else {
                        None
                    }
                } else if r < 0.3 {
                    phone_hh.clone()
                } else {
                    None
                }
            };
            let name_hi = rng.chance(0.5).then(|| full(&m.given, &m.family).dev);
            let (given_name, family_name) = if devanagari_fields {
                (m.given.dev.clone(), m.family.as_ref().map(|f| f.dev.clone()))
            } else {
                (m.given.lat.clone(), m.family.as_ref().map(|f| f.lat.clone()))
            };
            let relative_name = m
                .relative
                .as_ref()
                .filter(|_| rng.chance(0.85))
                .map(|r| if devanagari_fields || rng.chance(0.1) { r.dev.clone() } else { r.lat.clone() });
            let id = format!("R{:08}", people.len());
            people.push(Person {
                id,
                given_name,
                family_name,
                name_hi,
                sex: Some(if m.male { "male" } else { "female" }.to_string()),
                date_of_birth: dob,
                birth_year: Some(birth_year),
                phone,
                voter_id,
                household_id: Some(household_id.clone()),
                relation: Some(m.relation.to_string()),
                relative_name,
                ward: Some(ward),
            });
            dev.push((m.given.clone(), m.family.clone(), m.relative.clone()));
        }
    }
    // Planted duplicates.
    let n_orig = people.len();
    let n_dup = ((n_orig as f64) * dup_rate).round() as usize;
    let mut chosen = vec![false; n_orig];
    let mut truth = Vec::with_capacity(n_dup);
    let mut made = 0;
    while made < n_dup.min(n_orig) {
        let i = rng.below(n_orig);
        if chosen[i] {
            continue;
        }
        chosen[i] = true;
        let d = duplicate(&mut rng, &people[i], &dev[i], people.len(), hh + made);
        truth.push((i, people.len()));
        people.push(d);
        made += 1;
    }
    // Shuffle.
    let total = people.len();
    let mut perm: Vec<usize> = (0..total).collect();
    for i in (1..total).rev() {
        let j = rng.below(i + 1);
        perm.swap(i, j);
    }
    let mut slots: Vec<Option<Person>> = (0..total).map(|_| None).collect();
    for (i, p) in people.into_iter().enumerate() {
        slots[perm[i]] = Some(p);
    }
    let people: Vec<Person> = slots.into_iter().flatten().collect();
    let mut truth: Vec<(usize, usize)> = truth
        .into_iter()
        .map(|(a, b)| {
            let (x, y) = (perm[a], perm[b]);
            (x.min(y), x.max(y))
        })
        .collect();
    truth.sort_unstable();
    Synth { people, truth }
}

fn grandfather_given(grandfather: &Two, fam: &Two) -> Two {
    let strip = |s: &str, suffix: &str| s.strip_suffix(suffix).map(|x| x.trim_end().to_string());
    Two {
        lat: strip(&grandfather.lat, &fam.lat).unwrap_or_else(|| grandfather.lat.clone()),
        dev: strip(&grandfather.dev, &fam.dev).unwrap_or_else(|| grandfather.dev.clone()),
    }
}

/// Explicit spelling variants (beside the generic respellings).
const SPELLINGS: &[&[&str]] = &[
    &["Mohammad", "Mohd", "Mohammed", "Md", "Muhammad", "Mohamad"],
    &["Lakshmi", "Laxmi"],
    &["Laxman", "Lakshman"],
    &["Chaudhary", "Choudhary", "Chowdhury", "Chaudhari", "Chaudhry"],
    &["Kumar", "Kr"],
    &["Devi", "Debi"],
    &["Singh", "Sinh"],
    &["Srivastava", "Shrivastava", "Srivastav"],
    &["Sunita", "Suneeta"],
    &["Pooja", "Puja"],
    &["Geeta", "Gita"],
    &["Siddiqui", "Siddiqi"],
    &["Qureshi", "Kureshi", "Quraishi"],
    &["Hussain", "Husain", "Hussein"],
    &["Ahmad", "Ahmed"],
    &["Ahmed", "Ahmad"],
    &["Sheikh", "Shaikh", "Shekh"],
    &["Khatoon", "Khatun"],
    &["Begum", "Begam"],
    &["Pandey", "Pande", "Panday"],
    &["Tiwari", "Tewari"],
    &["Upadhyay", "Upadhyaya"],
    &["Rajendra", "Rajender", "Rajinder"],
    &["Surendra", "Surender", "Surinder"],
    &["Mahendra", "Mahender"],
    &["Narendra", "Narender"],
    &["Jitendra", "Jitender"],
    &["Virendra", "Virender", "Birender"],
    &["Jyoti", "Jyothi"],
    &["Rahman", "Rehman"],
    &["Akhtar", "Akhter"],
    &["Yusuf", "Yousuf"],
    &["Usman", "Osman"],
    &["Krishna", "Krishan"],
    &["Bajpai", "Vajpayee"],
    &["Agarwal", "Aggarwal", "Agrawal"],
    &["Syed", "Sayyed"],
    &["Shoaib", "Shoeb"],
    &["Praveen", "Pravin"],
    &["Ashish", "Asheesh"],
    &["Kavita", "Kavitha"],
    &["Savitri", "Savitry"],
];

/// Generic respellings: (from, to) applied to the first occurrence.
const RESPELL: &[(&str, &str)] = &[
    ("ee", "i"),
    ("oo", "u"),
    ("aa", "a"),
    ("v", "w"),
    ("w", "v"),
    ("ph", "f"),
    ("f", "ph"),
    ("q", "k"),
    ("z", "j"),
    ("sh", "s"),
    ("tt", "t"),
    ("pp", "p"),
    ("dd", "d"),
    ("ss", "s"),
    ("ai", "ei"),
    ("au", "ou"),
    ("ksh", "x"),
    ("th", "t"),
    ("kh", "k"),
    ("bh", "b"),
    ("dh", "d"),
    ("a", "e"),
];

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A respelling of one word of `s` (Latin), or `None` when none applies.
fn respell(rng: &mut Rng, s: &str) -> Option<String> {
    let words: Vec<&str> = s.split(' ').collect();
    let w = rng.below(words.len());
    let word = words[w];
    let mut new = None;
    for group in SPELLINGS {
        if group.contains(&word) {
            let others: Vec<&&str> = group.iter().filter(|g| **g != word).collect();
            new = Some(others[rng.below(others.len())].to_string());
            break;
        }
    }
    if new.is_none() {
        let lower = word.to_lowercase();
        let mut tries: Vec<String> = Vec::new();
        for (from, to) in RESPELL {
            // "a"→"e" only in the interior, and rarely.
            if *from == "a" {
                if let Some(p) = lower[1..].find('a').map(|p| p + 1)
                    && p + 1 < lower.len()
                    && rng.chance(0.3)
                {
                    tries.push(format!("{}e{}", &lower[..p], &lower[p + 1..]));
                }
                continue;
            }
            if let Some(p) = lower.find(from) {
                tries.push(format!("{}{}{}", &lower[..p], to, &lower[p + from.len()..]));
            }
        }
        // Final vowel spellings: -i ↔ -ee/-y, interior a → aa.
        if lower.ends_with('i') {
            tries.push(format!("{}ee", &lower[..lower.len() - 1]));
            tries.push(format!("{}y", &lower[..lower.len() - 1]));
        }
        if let Some(p) = lower.get(1..).and_then(|r| r.find('a')).map(|p| p + 1)
            && lower.as_bytes().get(p + 1) != Some(&b'a')
        {
            tries.push(format!("{}aa{}", &lower[..p], &lower[p + 1..]));
        }
        if !tries.is_empty() {
            new = Some(capitalise(&tries[rng.below(tries.len())]));
        }
    }
    let new = new?;
    let mut out: Vec<String> = words.iter().map(|w| w.to_string()).collect();
    out[w] = new;
    Some(out.join(" "))
}

/// One typo: insertion, deletion, substitution or transposition.
fn typo(rng: &mut Rng, s: &str) -> String {
    let mut c: Vec<char> = s.chars().collect();
    if c.len() < 3 {
        return s.to_string();
    }
    let letter = (b'a' + rng.below(26) as u8) as char;
    match rng.below(4) {
        0 => {
            let p = 1 + rng.below(c.len());
            c.insert(p.min(c.len()), letter);
        }
        1 => {
            let p = rng.below(c.len());
            c.remove(p);
        }
        2 => {
            let p = rng.below(c.len());
            let l = if p == 0 { letter.to_ascii_uppercase() } else { letter };
            c[p] = l;
        }
        _ => {
            let p = rng.below(c.len() - 1);
            c.swap(p, p + 1);
            if p == 0 {
                c[0] = c[0].to_ascii_uppercase();
                c[1] = c[1].to_ascii_lowercase();
            }
        }
    }
    c.into_iter().collect()
}

fn is_latin(s: &str) -> bool {
    s.is_ascii()
}

fn duplicate(rng: &mut Rng, p: &Person, dev: &(Two, Option<Two>, Option<Two>), index: usize, hh: usize) -> Person {
    let mut d = p.clone();
    d.id = format!("R{index:08}");
    // Spelling / script variant
    if rng.chance(0.5) {
        if rng.chance(0.3) {
            if is_latin(&d.given_name) {
                d.given_name = dev.0.dev.clone();
                if rng.chance(0.5) {
                    d.family_name = dev.1.as_ref().map(|f| f.dev.clone());
                }
            } else {
                d.given_name = dev.0.lat.clone();
                d.family_name = dev.1.as_ref().map(|f| f.lat.clone());
            }
        } else {
            let family_first = rng.chance(0.4);
            for k in 0..2 {
                let on_family = (k == 0) == family_first;
                let field = if on_family { d.family_name.clone() } else { Some(d.given_name.clone()) };
                if let Some(f) = field.filter(|f| is_latin(f))
                    && let Some(v) = respell(rng, &f)
                {
                    if on_family {
                        d.family_name = Some(v);
                    } else {
                        d.given_name = v;
                    }
                    break;
                }
            }
        }
    }
    // Typo
    if rng.chance(0.3) {
        let on_family = rng.chance(0.4);
        match (&d.family_name, on_family) {
            (Some(f), true) if is_latin(f) => d.family_name = Some(typo(rng, f)),
            _ if is_latin(&d.given_name) => d.given_name = typo(rng, &d.given_name),
            (Some(f), _) if is_latin(f) => d.family_name = Some(typo(rng, f)),
            _ => {}
        }
    }
    // Date of birth dropped for an estimated age
    if d.date_of_birth.is_some() && rng.chance(0.4) {
        d.date_of_birth = None;
        let off = rng.range(0, 2) * if rng.chance(0.5) { 1 } else { -1 };
        d.birth_year = d.birth_year.map(|y| y + off);
    }
    // Voter id missing on one side
    if d.voter_id.is_some() && rng.chance(0.4) {
        d.voter_id = None;
    }
    // Phone: same, another or none
    let r = rng.unit();
    if r >= 0.45 {
        d.phone = (r < 0.7).then(|| format!("{}{:09}", 6 + rng.below(4), rng.below(1_000_000_000)));
    }
    // Enrolled elsewhere (a centre, another ward)
    if rng.chance(0.3) {
        let ward = 1 + rng.below(250) as u16;
        d.ward = Some(ward);
        d.household_id = Some(format!("W{ward:03}-C{hh:07}"));
        d.relation = if rng.chance(0.5) { Some("self".into()) } else { None };
    }
    // Hindi name dropped or added
    if d.name_hi.is_some() {
        if rng.chance(0.3) {
            d.name_hi = None;
        }
    } else if rng.chance(0.3) {
        d.name_hi = Some(full(&dev.0, &dev.1).dev);
    }
    // Relative's name dropped or respelled
    if d.relative_name.is_some() {
        let r = rng.unit();
        if r < 0.15 {
            d.relative_name = None;
        } else if r < 0.35 {
            d.relative_name = match &dev.2 {
                Some(rel) if rng.chance(0.3) => Some(rel.dev.clone()),
                _ => {
                    d.relative_name.as_deref().filter(|s| is_latin(s)).and_then(|s| respell(rng, s)).or(d.relative_name)
                }
            };
        }
    } else if rng.chance(0.2) {
        d.relative_name = dev.2.as_ref().map(|r| r.lat.clone());
    }
    d
}
