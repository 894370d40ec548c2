//! The OpenRTB objects of a bid request, one function each: every known key
//! of the object, its value read into the field's type with serde's rules for
//! that type (`null` where an `Option` or a defaulted array allows it), a
//! repeated known key refused, unknown keys skipped.

use super::{Reader, Res, once};
use crate::openrtb::request::{
    App, Audio, Banner, BidRequest, Deal, Device, Format, Geo, Imp, Native, Pmp, Regs, Site, User,
    Video,
};

impl<'a> Reader<'a> {
    pub(super) fn bid_request(&mut self) -> Res<BidRequest<'a>> {
        let mut q = BidRequest {
            id: None,
            imp: Vec::new(),
            site: None,
            app: None,
            device: None,
            user: None,
            test: 0,
            at: 2,
            tmax: None,
            wseat: Vec::new(),
            bseat: Vec::new(),
            cur: Vec::new(),
            bcat: Vec::new(),
            badv: Vec::new(),
            bapp: Vec::new(),
            regs: None,
            ext: None,
        };
        let mut seen = 0;
        self.object("struct BidRequest", |r, k| {
            match k {
                b"id" => {
                    once(&mut seen, 0, "id")?;
                    q.id = r.opt_string()?;
                }
                b"imp" => {
                    once(&mut seen, 1, "imp")?;
                    q.imp = r.array_or_empty(Self::imp)?;
                }
                b"site" => {
                    once(&mut seen, 2, "site")?;
                    q.site = r.opt(Self::site)?;
                }
                b"app" => {
                    once(&mut seen, 3, "app")?;
                    q.app = r.opt(Self::app)?;
                }
                b"device" => {
                    once(&mut seen, 4, "device")?;
                    q.device = r.opt(Self::device)?;
                }
                b"user" => {
                    once(&mut seen, 5, "user")?;
                    q.user = r.opt(Self::user)?;
                }
                b"test" => {
                    once(&mut seen, 6, "test")?;
                    q.test = r.i64_or_zero()?;
                }
                b"at" => {
                    once(&mut seen, 7, "at")?;
                    q.at = r.i64()?;
                }
                b"tmax" => {
                    once(&mut seen, 8, "tmax")?;
                    q.tmax = r.opt_i64()?;
                }
                b"wseat" => {
                    once(&mut seen, 9, "wseat")?;
                    q.wseat = r.strs()?;
                }
                b"bseat" => {
                    once(&mut seen, 10, "bseat")?;
                    q.bseat = r.strs()?;
                }
                b"cur" => {
                    once(&mut seen, 11, "cur")?;
                    q.cur = r.strs()?;
                }
                b"bcat" => {
                    once(&mut seen, 12, "bcat")?;
                    q.bcat = r.strs()?;
                }
                b"badv" => {
                    once(&mut seen, 13, "badv")?;
                    q.badv = r.strs()?;
                }
                b"bapp" => {
                    once(&mut seen, 14, "bapp")?;
                    q.bapp = r.strs()?;
                }
                b"regs" => {
                    once(&mut seen, 15, "regs")?;
                    q.regs = r.opt(Self::regs)?;
                }
                b"ext" => {
                    once(&mut seen, 16, "ext")?;
                    q.ext = r.raw()?;
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(q)
    }

    fn imp(&mut self) -> Res<Imp<'a>> {
        let mut m = Imp::default();
        let mut seen = 0;
        self.object("struct Imp", |r, k| {
            match k {
                b"id" => {
                    once(&mut seen, 0, "id")?;
                    m.id = r.opt_string()?;
                }
                b"banner" => {
                    once(&mut seen, 1, "banner")?;
                    m.banner = r.opt(Self::banner)?;
                }
                b"video" => {
                    once(&mut seen, 2, "video")?;
                    m.video = r.opt(Self::video)?;
                }
                b"audio" => {
                    once(&mut seen, 3, "audio")?;
                    m.audio = r.opt(Self::audio)?;
                }
                b"native" => {
                    once(&mut seen, 4, "native")?;
                    m.native = r.opt(Self::native)?;
                }
                b"pmp" => {
                    once(&mut seen, 5, "pmp")?;
                    m.pmp = r.opt(Self::pmp)?;
                }
                b"bidfloor" => {
                    once(&mut seen, 6, "bidfloor")?;
                    m.bidfloor = r.f64_or_zero()?;
                }
                b"bidfloorcur" => {
                    once(&mut seen, 7, "bidfloorcur")?;
                    m.bidfloorcur = r.opt_string()?;
                }
                b"ext" => {
                    once(&mut seen, 8, "ext")?;
                    m.ext = r.raw()?;
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(m)
    }

    fn format(&mut self) -> Res<Format> {
        let mut f = Format::default();
        let mut seen = 0;
        self.object("struct Format", |r, k| {
            match k {
                b"w" => {
                    once(&mut seen, 0, "w")?;
                    f.w = r.opt_u32()?;
                }
                b"h" => {
                    once(&mut seen, 1, "h")?;
                    f.h = r.opt_u32()?;
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(f)
    }

    fn banner(&mut self) -> Res<Banner<'a>> {
        let mut x = Banner::default();
        let mut seen = 0;
        self.object("struct Banner", |r, k| {
            match k {
                b"format" => {
                    once(&mut seen, 0, "format")?;
                    x.format = r.array_or_empty(Self::format)?;
                }
                b"w" => {
                    once(&mut seen, 1, "w")?;
                    x.w = r.opt_u32()?;
                }
                b"h" => {
                    once(&mut seen, 2, "h")?;
                    x.h = r.opt_u32()?;
                }
                b"battr" => {
                    once(&mut seen, 3, "battr")?;
                    x.battr = r.ints()?;
                }
                b"btype" => {
                    once(&mut seen, 4, "btype")?;
                    x.btype = r.ints()?;
                }
                b"mimes" => {
                    once(&mut seen, 5, "mimes")?;
                    x.mimes = r.strs()?;
                }
                b"pos" => {
                    once(&mut seen, 6, "pos")?;
                    x.pos = r.opt_i64()?;
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(x)
    }

    fn video(&mut self) -> Res<Video<'a>> {
        let mut x = Video::default();
        let mut seen = 0;
        self.object("struct Video", |r, k| {
            match k {
                b"mimes" => {
                    once(&mut seen, 0, "mimes")?;
                    x.mimes = r.opt_strs()?;
                }
                b"minduration" => {
                    once(&mut seen, 1, "minduration")?;
                    x.minduration = r.opt_i64()?;
                }
                b"maxduration" => {
                    once(&mut seen, 2, "maxduration")?;
                    x.maxduration = r.opt_i64()?;
                }
                b"protocols" => {
                    once(&mut seen, 3, "protocols")?;
                    x.protocols = r.ints()?;
                }
                b"w" => {
                    once(&mut seen, 4, "w")?;
                    x.w = r.opt_u32()?;
                }
                b"h" => {
                    once(&mut seen, 5, "h")?;
                    x.h = r.opt_u32()?;
                }
                b"battr" => {
                    once(&mut seen, 6, "battr")?;
                    x.battr = r.ints()?;
                }
                b"plcmt" => {
                    once(&mut seen, 7, "plcmt")?;
                    x.plcmt = r.opt_i64()?;
                }
                b"placement" => {
                    once(&mut seen, 8, "placement")?;
                    x.placement = r.opt_i64()?;
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(x)
    }

    fn audio(&mut self) -> Res<Audio<'a>> {
        let mut x = Audio::default();
        let mut seen = 0;
        self.object("struct Audio", |r, k| {
            match k {
                b"mimes" => {
                    once(&mut seen, 0, "mimes")?;
                    x.mimes = r.opt_strs()?;
                }
                b"minduration" => {
                    once(&mut seen, 1, "minduration")?;
                    x.minduration = r.opt_i64()?;
                }
                b"maxduration" => {
                    once(&mut seen, 2, "maxduration")?;
                    x.maxduration = r.opt_i64()?;
                }
                b"battr" => {
                    once(&mut seen, 3, "battr")?;
                    x.battr = r.ints()?;
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(x)
    }

    fn native(&mut self) -> Res<Native<'a>> {
        let mut x = Native::default();
        let mut seen = 0;
        self.object("struct Native", |r, k| {
            match k {
                b"request" => {
                    once(&mut seen, 0, "request")?;
                    x.request = r.opt_string()?;
                }
                b"ver" => {
                    once(&mut seen, 1, "ver")?;
                    x.ver = r.opt_string()?;
                }
                b"battr" => {
                    once(&mut seen, 2, "battr")?;
                    x.battr = r.ints()?;
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(x)
    }

    fn pmp(&mut self) -> Res<Pmp<'a>> {
        let mut x = Pmp::default();
        let mut seen = 0;
        self.object("struct Pmp", |r, k| {
            match k {
                b"private_auction" => {
                    once(&mut seen, 0, "private_auction")?;
                    x.private_auction = r.i64_or_zero()?;
                }
                b"deals" => {
                    once(&mut seen, 1, "deals")?;
                    x.deals = r.array_or_empty(Self::deal)?;
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(x)
    }

    fn deal(&mut self) -> Res<Deal<'a>> {
        let mut x = Deal::default();
        let mut seen = 0;
        self.object("struct Deal", |r, k| {
            match k {
                b"id" => {
                    once(&mut seen, 0, "id")?;
                    x.id = r.opt_string()?;
                }
                b"bidfloor" => {
                    once(&mut seen, 1, "bidfloor")?;
                    x.bidfloor = r.f64_or_zero()?;
                }
                b"bidfloorcur" => {
                    once(&mut seen, 2, "bidfloorcur")?;
                    x.bidfloorcur = r.opt_string()?;
                }
                b"at" => {
                    once(&mut seen, 3, "at")?;
                    x.at = r.opt_i64()?;
                }
                b"wseat" => {
                    once(&mut seen, 4, "wseat")?;
                    x.wseat = r.strs()?;
                }
                b"wadomain" => {
                    once(&mut seen, 5, "wadomain")?;
                    x.wadomain = r.strs()?;
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(x)
    }

    fn site(&mut self) -> Res<Site<'a>> {
        let mut x = Site::default();
        let mut seen = 0;
        self.object("struct Site", |r, k| {
            match k {
                b"domain" => {
                    once(&mut seen, 0, "domain")?;
                    x.domain = r.opt_string()?;
                }
                b"cat" => {
                    once(&mut seen, 1, "cat")?;
                    x.cat = r.strs()?;
                }
                b"sectioncat" => {
                    once(&mut seen, 2, "sectioncat")?;
                    x.sectioncat = r.strs()?;
                }
                b"pagecat" => {
                    once(&mut seen, 3, "pagecat")?;
                    x.pagecat = r.strs()?;
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(x)
    }

    fn app(&mut self) -> Res<App<'a>> {
        let mut x = App::default();
        let mut seen = 0;
        self.object("struct App", |r, k| {
            match k {
                b"bundle" => {
                    once(&mut seen, 0, "bundle")?;
                    x.bundle = r.opt_string()?;
                }
                b"domain" => {
                    once(&mut seen, 1, "domain")?;
                    x.domain = r.opt_string()?;
                }
                b"cat" => {
                    once(&mut seen, 2, "cat")?;
                    x.cat = r.strs()?;
                }
                b"sectioncat" => {
                    once(&mut seen, 3, "sectioncat")?;
                    x.sectioncat = r.strs()?;
                }
                b"pagecat" => {
                    once(&mut seen, 4, "pagecat")?;
                    x.pagecat = r.strs()?;
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(x)
    }

    fn geo(&mut self) -> Res<Geo<'a>> {
        let mut x = Geo::default();
        let mut seen = 0;
        self.object("struct Geo", |r, k| {
            match k {
                b"country" => {
                    once(&mut seen, 0, "country")?;
                    x.country = r.opt_string()?;
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(x)
    }

    fn device(&mut self) -> Res<Device<'a>> {
        let mut x = Device::default();
        let mut seen = 0;
        self.object("struct Device", |r, k| {
            match k {
                b"geo" => {
                    once(&mut seen, 0, "geo")?;
                    x.geo = r.opt(Self::geo)?;
                }
                b"devicetype" => {
                    once(&mut seen, 1, "devicetype")?;
                    x.devicetype = r.opt_i64()?;
                }
                b"os" => {
                    once(&mut seen, 2, "os")?;
                    x.os = r.opt_string()?;
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(x)
    }

    fn user(&mut self) -> Res<User<'a>> {
        let mut x = User::default();
        let mut seen = 0;
        self.object("struct User", |r, k| {
            match k {
                b"id" => {
                    once(&mut seen, 0, "id")?;
                    x.id = r.opt_string()?;
                }
                b"buyeruid" => {
                    once(&mut seen, 1, "buyeruid")?;
                    x.buyeruid = r.opt_string()?;
                }
                b"geo" => {
                    once(&mut seen, 2, "geo")?;
                    x.geo = r.opt(Self::geo)?;
                }
                b"consent" => {
                    once(&mut seen, 3, "consent")?;
                    x.consent = r.opt_string()?;
                }
                b"ext" => {
                    once(&mut seen, 4, "ext")?;
                    x.ext = r.raw()?;
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(x)
    }

    fn regs(&mut self) -> Res<Regs<'a>> {
        let mut x = Regs::default();
        let mut seen = 0;
        self.object("struct Regs", |r, k| {
            match k {
                b"coppa" => {
                    once(&mut seen, 0, "coppa")?;
                    x.coppa = r.opt_i64()?;
                }
                b"gdpr" => {
                    once(&mut seen, 1, "gdpr")?;
                    x.gdpr = r.opt_i64()?;
                }
                b"us_privacy" => {
                    once(&mut seen, 2, "us_privacy")?;
                    x.us_privacy = r.opt_string()?;
                }
                b"gpp" => {
                    once(&mut seen, 3, "gpp")?;
                    x.gpp = r.opt_string()?;
                }
                b"ext" => {
                    once(&mut seen, 4, "ext")?;
                    x.ext = r.raw()?;
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(x)
    }
}
