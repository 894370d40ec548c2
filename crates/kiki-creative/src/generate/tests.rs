//! Tests of the template engine and of fitting a language model's answer.

use super::*;
use crate::brief::Tone;
use crate::limits::check_limits;
use crate::policy::Verdict;

/// A brief per industry, in the words an advertiser would use.
fn brief(industry: &str, tone: Tone, audience: &str) -> CreativeBrief {
    let (brand, product, message, cta) = match industry {
        "ecommerce" => (
            "Lumen",
            "Glow Serum",
            "Hydration that lasts all day",
            Some("Shop now"),
        ),
        "saas" => (
            "Tally",
            "Invoice Autopilot",
            "Send invoices in two clicks and get paid sooner",
            None,
        ),
        "mobile_apps" => (
            "Pocketful",
            "Habit Tracker app",
            "Build routines that stick, one small step at a time",
            Some("Get the app"),
        ),
        "professional_services" => (
            "Harbor Advisory",
            "Tax planning sessions",
            "Plan your taxes with a local advisor",
            None,
        ),
        "education" => (
            "Brightpath",
            "Data Analytics Bootcamp",
            "Learn data skills in twelve weeks, online and part-time",
            Some("Apply now"),
        ),
        "health" => (
            "Calmwell",
            "Evening tea blend",
            "A caffeine-free tea for slow evenings",
            None,
        ),
        "finance" => (
            "Northwind Money",
            "Budget planner",
            "See every bill in one place",
            None,
        ),
        _ => (
            "Oakline",
            "Garden studio cabins",
            "A quiet room of your own at the end of the garden",
            Some("Book a visit"),
        ),
    };
    CreativeBrief {
        brand: brand.into(),
        product: product.into(),
        key_message: message.into(),
        audience: audience.into(),
        tone,
        industry: industry.into(),
        landing_url: "https://example.com".into(),
        call_to_action: cta.map(str::to_owned),
        visual_guidelines: vec!["Warm natural light".into(), "avoid clutter".into()],
    }
}

const INDUSTRIES: [&str; 8] = [
    "ecommerce",
    "saas",
    "mobile_apps",
    "professional_services",
    "education",
    "health",
    "finance",
    "general",
];

const AUDIENCES: [&str; 3] = [
    "women 25-44 in the US",
    "parents of young children",
    "small business owners",
];

fn all_text(copy: &AdCopy) -> Vec<String> {
    copy.fields()
        .into_iter()
        .map(|(_, t)| t.to_owned())
        .collect()
}

fn assert_fits_and_passes(v: &CreativeVariant, what: &str) {
    let problems = check_limits(v.channel, &v.copy);
    assert!(problems.is_empty(), "{what}: {problems:?}\n{:#?}", v.copy);
    let report = review(&v.copy, v.channel, &PolicyRules::default());
    assert_eq!(
        report.verdict,
        Verdict::Approved,
        "{what}: {:?}\n{:#?}",
        report.findings,
        v.copy
    );
}

#[test]
fn every_variant_fits_its_channel_and_passes_the_default_review() {
    let mut checked = 0;
    for channel in Channel::ALL {
        for tone in Tone::ALL {
            for audience in AUDIENCES {
                for industry in INDUSTRIES {
                    let b = brief(industry, tone, audience);
                    let variants = generate(&b, channel, 4);
                    assert_eq!(variants.len(), 4);
                    for v in &variants {
                        let what = format!(
                            "{channel:?} {tone:?} {audience} {industry} #{}",
                            v.variation
                        );
                        assert_fits_and_passes(v, &what);
                        let limit = channel.limit(CopyField::Headline);
                        if limit.max_count > 0 && b.brand.chars().count() <= limit.max_chars {
                            assert!(
                                v.copy.headlines.iter().any(|h| h.contains(&b.brand)),
                                "{what}: no headline names {}: {:?}",
                                b.brand,
                                v.copy.headlines
                            );
                        }
                        checked += 1;
                    }
                    for (i, a) in variants.iter().enumerate() {
                        for other in &variants[i + 1..] {
                            assert_ne!(a.copy, other.copy, "{channel:?} {tone:?} {industry}");
                        }
                    }
                }
            }
        }
    }
    assert_eq!(checked, 8 * 5 * 3 * 8 * 4);
}

#[test]
fn twenty_variants_are_pairwise_different_on_every_channel_and_tone() {
    for channel in Channel::ALL {
        for tone in Tone::ALL {
            for industry in ["ecommerce", "finance"] {
                let b = brief(industry, tone, "young adults 18-24");
                let variants = generate(&b, channel, 20);
                assert_eq!(variants.len(), 20);
                for (i, a) in variants.iter().enumerate() {
                    assert_eq!(a.variation, i as u32 + 1);
                    assert_fits_and_passes(a, &format!("{channel:?} {tone:?} #{}", a.variation));
                    for other in &variants[i + 1..] {
                        assert_ne!(
                            a.copy, other.copy,
                            "{channel:?} {tone:?} {industry}: #{} and #{} ({} / {})",
                            a.variation, other.variation, a.template, other.template
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn the_same_brief_gives_the_same_variants_and_a_variation_does_not_depend_on_the_count() {
    for channel in Channel::ALL {
        let b = brief("saas", Tone::Professional, "marketing managers");
        let first = generate(&b, channel, 6);
        assert_eq!(first, generate(&b, channel, 6));
        assert_eq!(first[..3], generate(&b, channel, 3)[..]);
        let templates: BTreeSet<&str> = first.iter().map(|v| v.template.as_str()).collect();
        assert_eq!(templates.len(), 6, "{templates:?}");
        assert!(
            first[0].template.starts_with("professional/"),
            "{}",
            first[0].template
        );
    }
}

#[test]
fn the_count_is_clamped_to_one_to_twenty() {
    let b = brief("ecommerce", Tone::Friendly, "women 25-44");
    assert_eq!(generate(&b, Channel::Meta, 0).len(), 1);
    assert_eq!(generate(&b, Channel::Meta, 1).len(), 1);
    assert_eq!(generate(&b, Channel::Meta, 7).len(), 7);
    let many = generate(&b, Channel::Meta, 500);
    assert_eq!(many.len(), 20);
    assert_eq!(many.last().map(|v| v.variation), Some(20));
}

#[test]
fn google_gets_a_full_responsive_search_ad_with_short_lower_case_paths() {
    for tone in Tone::ALL {
        for industry in INDUSTRIES {
            let b = brief(industry, tone, "students");
            for v in generate(&b, Channel::Google, 5) {
                let c = &v.copy;
                assert!((3..=15).contains(&c.headlines.len()), "{:?}", c.headlines);
                assert!(
                    (2..=4).contains(&c.descriptions.len()),
                    "{:?}",
                    c.descriptions
                );
                assert!(c.headlines.iter().all(|h| h.chars().count() <= 30));
                assert!(c.descriptions.iter().all(|d| d.chars().count() <= 90));
                assert!(c.headlines.iter().all(|h| !h.contains('!')));
                assert!(c.primary_text.is_none());
                assert!(!c.paths.is_empty() && c.paths.len() <= 2, "{:?}", c.paths);
                for p in &c.paths {
                    assert!(p.chars().count() <= 15, "{p}");
                    assert!(!p.contains(char::is_whitespace), "{p}");
                    assert_eq!(p, &p.to_lowercase());
                }
                let lower: BTreeSet<String> =
                    c.headlines.iter().map(|h| h.to_lowercase()).collect();
                assert_eq!(lower.len(), c.headlines.len(), "headlines repeat");
            }
        }
    }
    let b = brief("education", Tone::Friendly, "students");
    let v = &generate(&b, Channel::Google, 1)[0];
    assert_eq!(v.copy.paths, ["data-analytics", "bootcamp"]);
    assert_eq!(v.copy.headlines.len(), 15, "{:?}", v.copy.headlines);
    assert_eq!(v.copy.descriptions.len(), 4);
}

#[test]
fn each_channel_gets_the_pieces_it_shows() {
    let b = brief("ecommerce", Tone::Playful, "men 35-54");
    let shape = |c: Channel| {
        let v = &generate(&b, c, 1)[0];
        (
            v.copy.headlines.len(),
            v.copy.descriptions.len(),
            v.copy.primary_text.is_some(),
            v.copy.paths.len(),
        )
    };
    assert_eq!(shape(Channel::Meta), (1, 1, true, 0));
    assert_eq!(shape(Channel::Tiktok), (0, 0, true, 0));
    assert_eq!(shape(Channel::Linkedin), (1, 1, true, 0));
    assert_eq!(shape(Channel::Snapchat), (1, 0, false, 0));
    assert_eq!(shape(Channel::Pinterest), (1, 1, false, 0));
    assert_eq!(shape(Channel::X), (1, 0, true, 0));
    assert_eq!(shape(Channel::Kiki), (3, 2, true, 0));
    assert!(!shape(Channel::Google).2);
    // TikTok shows no headline, so its ad text opens with the brand.
    let tiktok = &generate(&b, Channel::Tiktok, 1)[0];
    assert!(
        tiktok
            .copy
            .primary_text
            .as_deref()
            .is_some_and(|p| p.contains("Lumen")),
        "{:?}",
        tiktok.copy.primary_text
    );
}

#[test]
fn the_key_message_and_the_call_to_action_reach_the_copy() {
    let b = brief("ecommerce", Tone::Friendly, "parents");
    let meta = &generate(&b, Channel::Meta, 1)[0];
    let primary = meta.copy.primary_text.as_deref().unwrap_or_default();
    assert!(
        primary.contains("Hydration that lasts all day"),
        "{primary}"
    );
    assert!(primary.contains("Shop now"), "{primary}");
    let google = &generate(&b, Channel::Google, 1)[0];
    assert!(
        google
            .copy
            .headlines
            .iter()
            .any(|h| h == "Hydration that lasts all day"),
        "{:?}",
        google.copy.headlines
    );
    // Without a call to action in the brief, the industry's default.
    let saas = brief("saas", Tone::Friendly, "founders");
    let meta = &generate(&saas, Channel::Meta, 1)[0];
    assert!(
        meta.copy
            .primary_text
            .as_deref()
            .is_some_and(|p| p.contains("Sign up")),
        "{:?}",
        meta.copy
    );
}

#[test]
fn a_long_key_message_is_shortened_at_a_word_boundary() {
    let mut b = brief("ecommerce", Tone::Premium, "women");
    b.key_message = "A lightweight serum with hyaluronic acid that keeps skin comfortable from the morning commute to the last meeting of a long day, in every season of the year".into();
    for channel in Channel::ALL {
        for v in generate(&b, channel, 3) {
            assert_fits_and_passes(&v, &format!("{channel:?}"));
            for text in all_text(&v.copy) {
                // Every word of the copy is a whole word of the brief or of
                // the templates: nothing ends in a cut-off fragment.
                let last = text
                    .trim_end_matches(['.', '!'])
                    .rsplit(' ')
                    .next()
                    .unwrap_or("");
                assert!(
                    !["hyalu", "comfor", "mornin", "seaso"].contains(&last),
                    "{text}"
                );
                assert!(
                    !DANGLING.contains(&last.to_lowercase().as_str()),
                    "dangling word in {text:?}"
                );
            }
        }
    }
    let tiktok = &generate(&b, Channel::Tiktok, 1)[0];
    let p = tiktok.copy.primary_text.as_deref().unwrap_or_default();
    assert!(
        p.contains("A lightweight serum with hyaluronic acid"),
        "{p}"
    );
}

#[test]
fn placements_are_the_platforms_image_sizes() {
    let b = brief("general", Tone::Friendly, "everyone");
    let sizes = |c: Channel| -> Vec<(String, String, u32, u32)> {
        generate(&b, c, 1)[0]
            .image
            .placements
            .iter()
            .map(|p| (p.name.clone(), p.aspect_ratio.clone(), p.width, p.height))
            .collect()
    };
    let s = |n: &str, r: &str, w: u32, h: u32| (n.to_owned(), r.to_owned(), w, h);
    assert_eq!(
        sizes(Channel::Meta),
        [
            s("feed", "1:1", 1080, 1080),
            s("feed", "4:5", 1080, 1350),
            s("stories", "9:16", 1080, 1920)
        ]
    );
    assert_eq!(
        sizes(Channel::Google),
        [
            s("responsive_display", "1.91:1", 1200, 628),
            s("responsive_display", "1:1", 1200, 1200)
        ]
    );
    assert_eq!(sizes(Channel::Tiktok), [s("in_feed", "9:16", 1080, 1920)]);
    assert_eq!(
        sizes(Channel::Linkedin),
        [s("feed", "1.91:1", 1200, 627), s("feed", "1:1", 1200, 1200)]
    );
    assert_eq!(
        sizes(Channel::Pinterest),
        [s("standard_pin", "2:3", 1000, 1500)]
    );
    assert_eq!(
        sizes(Channel::Snapchat),
        [s("full_screen", "9:16", 1080, 1920)]
    );
    assert_eq!(
        sizes(Channel::X),
        [
            s("timeline", "1.91:1", 1200, 628),
            s("timeline", "1:1", 1200, 1200)
        ]
    );
    assert_eq!(
        sizes(Channel::Kiki),
        [
            s("medium_rectangle", "6:5", 300, 250),
            s("leaderboard", "364:45", 728, 90),
            s("mobile_banner", "32:5", 320, 50),
            s("wide_skyscraper", "4:15", 160, 600)
        ]
    );
    // The ratio names the size (exactly, or as the platforms round 1.91:1).
    for c in Channel::ALL {
        for p in generate(&b, c, 1)[0].image.placements.iter() {
            let (w, h) = p.aspect_ratio.split_once(':').unwrap_or(("0", "1"));
            let ratio: f64 = w.parse::<f64>().unwrap_or(0.0) / h.parse::<f64>().unwrap_or(1.0);
            let real = f64::from(p.width) / f64::from(p.height);
            assert!((ratio - real).abs() < 0.01, "{c:?} {p:?}");
        }
    }
}

#[test]
fn video_scenes_run_hook_product_benefit_call_to_action_and_add_up() {
    for d in [6, 15, 30] {
        let s = scene_seconds(d);
        assert_eq!(s.iter().sum::<u32>(), d, "{d}: {s:?}");
        assert!(s.iter().all(|&x| x >= 1), "{d}: {s:?}");
    }
    let b = brief("mobile_apps", Tone::Urgent, "students");
    let expected = [
        (Channel::Meta, "9:16"),
        (Channel::Google, "16:9"),
        (Channel::Tiktok, "9:16"),
        (Channel::Linkedin, "1:1"),
        (Channel::Snapchat, "9:16"),
        (Channel::Pinterest, "2:3"),
        (Channel::X, "16:9"),
        (Channel::Kiki, "16:9"),
    ];
    for (channel, ratio) in expected {
        for v in generate(&b, channel, 3) {
            let video = &v.video;
            assert_eq!(video.aspect_ratio, ratio, "{channel:?}");
            assert_eq!(video.duration_seconds, 15);
            assert_eq!(video.scenes.len(), 4);
            assert_eq!(
                video.scenes.iter().map(|s| s.seconds).sum::<u32>(),
                video.duration_seconds
            );
            let mut at = 0;
            for s in &video.scenes {
                assert_eq!(s.start_second, at);
                at += s.seconds;
                assert!(!s.camera.is_empty() && !s.description.is_empty());
                if let Some(t) = &s.on_screen_text {
                    assert!(t.chars().count() <= ON_SCREEN_MAX_CHARS, "{t}");
                }
            }
            assert!(video.scenes[0].description.starts_with("Hook"));
            assert_eq!(
                video.scenes[3].on_screen_text.as_deref(),
                Some("Get the app")
            );
            assert!(video.scenes[1].description.contains("Habit Tracker app"));
        }
    }
}

#[test]
fn the_image_prompt_follows_the_guidelines_and_the_negative_prompt_takes_what_they_avoid() {
    let mut b = brief("ecommerce", Tone::Premium, "women 25-44");
    b.visual_guidelines = vec![
        "Soft pastel colours, avoid cluttered backgrounds".into(),
        "No people in the shot; marble surfaces".into(),
        "Do not show competitor packaging".into(),
        "No more than two props".into(),
    ];
    let v = &generate(&b, Channel::Meta, 1)[0];
    let neg = &v.image.negative_prompt;
    for avoided in [
        "cluttered backgrounds",
        "people in the shot",
        "competitor packaging",
    ] {
        assert!(neg.contains(avoided), "{neg}");
    }
    for always in [
        "text",
        "distorted hands",
        "distorted or asymmetric faces",
        "competitor logos",
    ] {
        assert!(neg.contains(always), "{neg}");
    }
    let prompt = &v.image.prompt;
    assert!(prompt.contains("Soft pastel colours"), "{prompt}");
    assert!(prompt.contains("marble surfaces"), "{prompt}");
    assert!(prompt.contains("No more than two props"), "{prompt}");
    assert!(!prompt.contains("avoid"), "{prompt}");
    assert!(
        prompt.contains("Glow Serum") && prompt.contains("Lumen"),
        "{prompt}"
    );
    assert!(prompt.contains("Hydration that lasts all day"), "{prompt}");
    assert!(
        prompt.contains("muted palette"),
        "the premium mood: {prompt}"
    );
    assert!(prompt.contains("a woman"), "the segment's scene: {prompt}");
    // Variants differ in their shot.
    let three = generate(&b, Channel::Meta, 3);
    assert_ne!(three[0].image.prompt, three[1].image.prompt);
}

#[test]
fn the_audience_is_read_into_a_segment_by_whole_words() {
    let cases = [
        ("women 25-44 in the US", Segment::Women),
        ("Men who run", Segment::Men),
        ("young women 18-24", Segment::YoungAdults),
        ("adults 18 to 30", Segment::YoungAdults),
        ("adults 25–54", Segment::General),
        ("Gen Z gamers", Segment::YoungAdults),
        ("university students", Segment::YoungAdults),
        ("new mums", Segment::Parents),
        ("families with kids", Segment::Parents),
        ("small business owners", Segment::Professionals),
        ("B2B decision-makers at SaaS teams", Segment::Professionals),
        ("females over 40", Segment::Women),
        ("homeowners", Segment::General),
        ("", Segment::General),
    ];
    for (audience, segment) in cases {
        assert_eq!(Segment::of(audience), segment, "{audience}");
    }
    // "women" contains "men", "female" contains "male": whole words only.
    assert_eq!(Segment::of("women"), Segment::Women);
    assert_eq!(Segment::of("female shoppers"), Segment::Women);
    assert_eq!(Segment::of("parents").as_str(), "parents");
}

#[test]
fn a_claim_in_the_brief_is_carried_not_hidden_and_the_review_flags_it() {
    // Generation does not hide what the advertiser wrote: a key message
    // with a claim the policy refuses still yields variants, the claim is
    // in their copy, and the campaigns service's review of them rejects it.
    let mut b = brief("health", Tone::Friendly, "women 35-54");
    b.key_message = "Guaranteed results in 7 days".into();
    for channel in Channel::ALL {
        let variants = generate(&b, channel, 3);
        assert_eq!(variants.len(), 3);
        for v in &variants {
            assert!(check_limits(channel, &v.copy).is_empty(), "{channel:?}");
            let report = review(&v.copy, channel, &PolicyRules::default());
            assert!(
                report
                    .findings
                    .iter()
                    .all(|f| f.rule == Rule::GuaranteeClaim),
                "the templates add nothing else: {:?}",
                report.findings
            );
            // Snapchat shows one 34-character headline: only its first
            // variation has room for the key message next to the brand.
            if channel != Channel::Snapchat || v.variation == 1 {
                assert_eq!(
                    report.verdict,
                    Verdict::Rejected,
                    "{channel:?} {:?}",
                    v.copy
                );
                assert!(
                    all_text(&v.copy)
                        .iter()
                        .any(|t| t.contains("Guaranteed results")),
                    "{channel:?} {:?}",
                    v.copy
                );
            }
        }
    }
}

#[test]
fn the_templates_add_no_finding_to_the_brief_s_own_words() {
    // An exclamation mark in the call to action: the templates' own go,
    // so no piece carries two.
    let mut b = brief("ecommerce", Tone::Playful, "students");
    b.call_to_action = Some("Grab yours today!".into());
    b.key_message = "Hydration that lasts all day!".into();
    for channel in Channel::ALL {
        for v in generate(&b, channel, 6) {
            let report = review(&v.copy, channel, &PolicyRules::default());
            assert_eq!(
                report.verdict,
                Verdict::Approved,
                "{channel:?} {:?}",
                report.findings
            );
        }
    }
    // A product word that is a personal attribute is never put to the
    // reader by a template ("your", a question).
    let mut b = brief("health", Tone::Friendly, "adults");
    b.product = "Debt-free living course".into();
    b.key_message = "Practical lessons on spending".into();
    let own = review(
        &AdCopy {
            headlines: vec![b.product.clone()],
            ..AdCopy::default()
        },
        Channel::Meta,
        &PolicyRules::default(),
    );
    assert_eq!(own.verdict, Verdict::Approved, "the product alone passes");
    for channel in Channel::ALL {
        for v in generate(&b, channel, 5) {
            let report = review(&v.copy, channel, &PolicyRules::default());
            assert_eq!(
                report.verdict,
                Verdict::Approved,
                "{channel:?} {:?}",
                report.findings
            );
        }
    }
}

#[test]
fn fitting_shortens_at_a_word_boundary_and_tops_up_from_the_templates() {
    let b = brief("ecommerce", Tone::Friendly, "women 25-44");
    let long = "Hydrating serum for very dry and sensitive skin, all day too";
    assert_eq!(long.chars().count(), 60);
    let answer = CopyAnswer {
        variants: vec![AdCopy {
            headlines: vec![long.into()],
            descriptions: vec!["Made with hyaluronic acid.".into()],
            primary_text: Some("Should not appear on Google.".into()),
            paths: vec!["Dry Skin Care Routine".into()],
        }],
    };
    assert!(answer.validate().is_empty());
    let fitted = fit_answer(&b, Channel::Google, &answer);
    assert_eq!(fitted.len(), 1);
    let v = &fitted[0];
    assert_eq!(v.template, FITTED_ANSWER);
    assert_eq!(v.variation, 1);
    assert_eq!(v.copy.headlines.len(), 3, "{:?}", v.copy.headlines);
    assert_eq!(v.copy.headlines[0], "Hydrating serum for very dry");
    assert!(long.starts_with(&v.copy.headlines[0]));
    assert_eq!(
        long.as_bytes()[v.copy.headlines[0].len()],
        b' ',
        "cut at a word boundary"
    );
    assert_eq!(v.copy.descriptions.len(), 2);
    assert_eq!(v.copy.descriptions[0], "Made with hyaluronic acid.");
    assert_eq!(v.copy.primary_text, None);
    assert_eq!(v.copy.paths, ["dry-skin-care"]);
    assert!(check_limits(Channel::Google, &v.copy).is_empty());
    let template = &generate(&b, Channel::Google, 1)[0];
    assert_eq!(v.image, template.image);
    assert_eq!(v.video, template.video);

    // Too many pieces are trimmed to the channel's counts; a channel
    // without headlines takes the answer's words as its primary text.
    let many = CopyAnswer {
        variants: vec![AdCopy {
            headlines: (0..8).map(|i| format!("Headline number {i}")).collect(),
            descriptions: vec!["Soft on skin".into()],
            ..AdCopy::default()
        }],
    };
    let meta = &fit_answer(&b, Channel::Meta, &many)[0];
    assert_eq!(meta.copy.headlines.len(), 5);
    assert_eq!(
        meta.copy.primary_text.as_deref(),
        Some("Headline number 0. Soft on skin.")
    );
    assert!(check_limits(Channel::Meta, &meta.copy).is_empty());
    let snap = &fit_answer(&b, Channel::Snapchat, &many)[0];
    assert_eq!(snap.copy.headlines, ["Headline number 0"]);
    assert!(snap.copy.descriptions.is_empty() && snap.copy.primary_text.is_none());
    let tiktok = &fit_answer(&b, Channel::Tiktok, &many)[0];
    assert!(tiktok.copy.headlines.is_empty());
    assert!(check_limits(Channel::Tiktok, &tiktok.copy).is_empty());
    // A word longer than the field is dropped rather than cut.
    let odd = CopyAnswer {
        variants: vec![AdCopy {
            headlines: vec!["Supercalifragilisticexpialidocious-serum".into()],
            ..AdCopy::default()
        }],
    };
    let g = &fit_answer(&b, Channel::Google, &odd)[0];
    assert!(g.copy.headlines.iter().all(|h| !h.starts_with("Supercali")));
    assert!(check_limits(Channel::Google, &g.copy).is_empty());
}

#[test]
fn an_answer_is_validated_and_unknown_fields_are_refused() {
    let empty = CopyAnswer { variants: vec![] };
    let errs = empty.validate();
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].field, "variants");
    let one = AdCopy {
        headlines: vec!["Glow all day".into()],
        ..AdCopy::default()
    };
    let too_many = CopyAnswer {
        variants: vec![one.clone(); 21],
    };
    assert_eq!(too_many.validate().len(), 1);
    assert!(too_many.validate()[0].message.contains("21"));
    let headless = CopyAnswer {
        variants: vec![
            one.clone(),
            AdCopy {
                headlines: vec!["  ".into()],
                primary_text: Some("Body only".into()),
                ..AdCopy::default()
            },
        ],
    };
    let errs = headless.validate();
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].field, "variants[1].headlines");
    let parsed: CopyAnswer =
        serde_json::from_str(r#"{"variants":[{"headlines":["Glow all day"]}]}"#).unwrap();
    assert_eq!(parsed.variants, [one]);
    assert!(serde_json::from_str::<CopyAnswer>(r#"{"variants":[],"notes":"x"}"#).is_err());
    assert!(
        serde_json::from_str::<CopyAnswer>(r#"{"variants":[{"headlines":[],"tone":"x"}]}"#)
            .is_err()
    );
    // Fitting uses at most twenty variants.
    let b = brief("ecommerce", Tone::Friendly, "women");
    assert_eq!(fit_answer(&b, Channel::Meta, &too_many).len(), 20);
}

#[test]
fn the_answer_schema_states_the_shape_the_answer_is_read_with() {
    let schema = copy_answer_schema();
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(schema["required"], serde_json::json!(["variants"]));
    let variants = &schema["properties"]["variants"];
    assert_eq!(variants["minItems"], 1);
    assert_eq!(variants["maxItems"], MAX_VARIANTS);
    let item = &variants["items"];
    assert_eq!(item["additionalProperties"], false);
    assert_eq!(item["required"], serde_json::json!(["headlines"]));
    let props: BTreeSet<&str> = item["properties"]
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    // The schema names exactly AdCopy's fields.
    let copy = serde_json::to_value(AdCopy::default()).unwrap();
    let fields: BTreeSet<&str> = copy
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    assert_eq!(props, fields);
}

#[test]
fn a_variant_round_trips_through_json() {
    let b = brief("finance", Tone::Professional, "small business owners");
    let v = &generate(&b, Channel::Linkedin, 1)[0];
    let json = serde_json::to_string(v).unwrap();
    let back: CreativeVariant = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, v);
    assert!(json.contains(r#""channel":"linkedin""#), "{json}");
}

#[test]
fn fitting_never_cuts_a_word_and_drops_dangling_connectors() {
    assert_eq!(
        fit("Hydrating serum for very dry, sensitive skin", 30).as_deref(),
        Some("Hydrating serum for very dry")
    );
    assert_eq!(
        fit("Plan your taxes with a local advisor", 26).as_deref(),
        Some("Plan your taxes")
    );
    assert_eq!(fit("Supercalifragilistic", 5), None);
    assert_eq!(fit("   ", 5), None);
    assert_eq!(fit(" Fits ", 5).as_deref(), Some("Fits"));
    assert_eq!(
        path_of("Dry Skin & Care", 15).as_deref(),
        Some("dry-skin-care")
    );
    assert_eq!(path_of("Supercalifragilistic", 15), None);
    assert_eq!(
        product_paths("The Data Analytics Bootcamp", 2, 15),
        ["data-analytics", "bootcamp"]
    );
    assert_eq!(capitalize("iPhone case"), "iPhone case");
    assert_eq!(capitalize("shop now"), "Shop now");
    assert_eq!(lower_first("Shop now"), "shop now");
    assert_eq!(lower_first("CRM demo"), "CRM demo");
}
