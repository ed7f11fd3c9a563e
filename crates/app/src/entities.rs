//! The named character references of HTML (`&amp;` and 2,124 others) as mail-parser 0.11's
//! `html_to_text` knows them, written compactly: generated from that crate's table
//! (`src/decoders/html.rs`, `lookup_entity`), whose perfect-hash form cost the page about 23 KB
//! gzipped. One string per first letter; in it each entry is the rest of the name, `;`, then
//! the character (names never hold `;`, so the character that follows it may be anything).

/// Entries of names starting `A`..`Z`, then `a`..`z`.
pub(crate) static ENTITIES: [&str; 52] = [
    // A
    "Elig;ÆMP;&acute;Ábreve;Ăcirc;Âcy;Аfr;𝔄grave;Àlpha;Αmacr;Ānd;⩓ogon;Ąopf;𝔸pplyFunction;\u{2061}ring;Åscr;𝒜ssign;≔tilde;Ãuml;Ä",
    // B
    "ackslash;∖arv;⫧arwed;⌆cy;Бecause;∵ernoullis;ℬeta;Βfr;𝔅opf;𝔹reve;˘scr;ℬumpeq;≎",
    // C
    "Hcy;ЧOPY;©acute;Ćap;⋒apitalDifferentialD;ⅅayleys;ℭcaron;Čcedil;Çcirc;Ĉconint;∰dot;Ċedilla;¸enterDot;·fr;ℭhi;ΧircleDot;⊙ircleMinus;⊖irclePlus;⊕ircleTimes;⊗lockwiseContourIntegral;∲loseCurlyDoubleQuote;\u{201d}loseCurlyQuote;\u{2019}olon;∷olone;⩴ongruent;≡onint;∯ontourIntegral;∮opf;ℂoproduct;∐ounterClockwiseContourIntegral;∳ross;⨯scr;𝒞up;⋓upCap;≍",
    // D
    "D;ⅅDotrahd;⤑Jcy;ЂScy;ЅZcy;Џagger;\u{2021}arr;↡ashv;⫤caron;Ďcy;Дel;∇elta;Δfr;𝔇iacriticalAcute;´iacriticalDot;˙iacriticalDoubleAcute;˝iacriticalGrave;`iacriticalTilde;˜iamond;⋄ifferentialD;ⅆopf;𝔻ot;¨otDot;⃜otEqual;≐oubleContourIntegral;∯oubleDot;¨oubleDownArrow;⇓oubleLeftArrow;⇐oubleLeftRightArrow;⇔oubleLeftTee;⫤oubleLongLeftArrow;⟸oubleLongLeftRightArrow;⟺oubleLongRightArrow;⟹oubleRightArrow;⇒oubleRightTee;⊨oubleUpArrow;⇑oubleUpDownArrow;⇕oubleVerticalBar;∥ownArrow;↓ownArrowBar;⤓ownArrowUpArrow;⇵ownBreve;\u{311}ownLeftRightVector;⥐ownLeftTeeVector;⥞ownLeftVector;↽ownLeftVectorBar;⥖ownRightTeeVector;⥟ownRightVector;⇁ownRightVectorBar;⥗ownTee;⊤ownTeeArrow;↧ownarrow;⇓scr;𝒟strok;Đ",
    // E
    "NG;ŊTH;Ðacute;Écaron;Ěcirc;Êcy;Эdot;Ėfr;𝔈grave;Èlement;∈macr;ĒmptySmallSquare;◻mptyVerySmallSquare;▫ogon;Ęopf;𝔼psilon;Εqual;⩵qualTilde;≂quilibrium;⇌scr;ℰsim;⩳ta;Ηuml;Ëxists;∃xponentialE;ⅇ",
    // F
    "cy;Фfr;𝔉illedSmallSquare;◼illedVerySmallSquare;▪opf;𝔽orAll;∀ouriertrf;ℱscr;ℱ",
    // G
    "Jcy;ЃT;>amma;Γammad;Ϝbreve;Ğcedil;Ģcirc;Ĝcy;Гdot;Ġfr;𝔊g;⋙opf;𝔾reaterEqual;≥reaterEqualLess;⋛reaterFullEqual;≧reaterGreater;⪢reaterLess;≷reaterSlantEqual;⩾reaterTilde;≳scr;𝒢t;≫",
    // H
    "ARDcy;Ъacek;ˇat;^circ;Ĥfr;ℌilbertSpace;ℋopf;ℍorizontalLine;─scr;ℋstrok;ĦumpDownHump;≎umpEqual;≏",
    // I
    "Ecy;ЕJlig;ĲOcy;Ёacute;Ícirc;Îcy;Иdot;İfr;ℑgrave;Ìm;ℑmacr;ĪmaginaryI;ⅈmplies;⇒nt;∬ntegral;∫ntersection;⋂nvisibleComma;\u{2063}nvisibleTimes;\u{2062}ogon;Įopf;𝕀ota;Ιscr;ℐtilde;Ĩukcy;Іuml;Ï",
    // J
    "circ;Ĵcy;Йfr;𝔍opf;𝕁scr;𝒥sercy;Јukcy;Є",
    // K
    "Hcy;ХJcy;Ќappa;Κcedil;Ķcy;Кfr;𝔎opf;𝕂scr;𝒦",
    // L
    "Jcy;ЉT;<acute;Ĺambda;Λang;⟪aplacetrf;ℒarr;↞caron;Ľcedil;Ļcy;ЛeftAngleBracket;⟨eftArrow;←eftArrowBar;⇤eftArrowRightArrow;⇆eftCeiling;⌈eftDoubleBracket;⟦eftDownTeeVector;⥡eftDownVector;⇃eftDownVectorBar;⥙eftFloor;⌊eftRightArrow;↔eftRightVector;⥎eftTee;⊣eftTeeArrow;↤eftTeeVector;⥚eftTriangle;⊲eftTriangleBar;⧏eftTriangleEqual;⊴eftUpDownVector;⥑eftUpTeeVector;⥠eftUpVector;↿eftUpVectorBar;⥘eftVector;↼eftVectorBar;⥒eftarrow;⇐eftrightarrow;⇔essEqualGreater;⋚essFullEqual;≦essGreater;≶essLess;⪡essSlantEqual;⩽essTilde;≲fr;𝔏l;⋘leftarrow;⇚midot;ĿongLeftArrow;⟵ongLeftRightArrow;⟷ongRightArrow;⟶ongleftarrow;⟸ongleftrightarrow;⟺ongrightarrow;⟹opf;𝕃owerLeftArrow;↙owerRightArrow;↘scr;ℒsh;↰strok;Łt;≪",
    // M
    "ap;⤅cy;МediumSpace;\u{205f}ellintrf;ℳfr;𝔐inusPlus;∓opf;𝕄scr;ℳu;Μ",
    // N
    "Jcy;Њacute;Ńcaron;Ňcedil;Ņcy;НegativeMediumSpace;\u{200b}egativeThickSpace;\u{200b}egativeThinSpace;\u{200b}egativeVeryThinSpace;\u{200b}estedGreaterGreater;≫estedLessLess;≪ewLine;\u{a}fr;𝔑oBreak;\u{2060}onBreakingSpace;\u{a0}opf;ℕot;⫬otCongruent;≢otCupCap;≭otDoubleVerticalBar;∦otElement;∉otEqual;≠otEqualTilde;≂otExists;∄otGreater;≯otGreaterEqual;≱otGreaterFullEqual;≧otGreaterGreater;≫otGreaterLess;≹otGreaterSlantEqual;⩾otGreaterTilde;≵otHumpDownHump;≎otHumpEqual;≏otLeftTriangle;⋪otLeftTriangleBar;⧏otLeftTriangleEqual;⋬otLess;≮otLessEqual;≰otLessGreater;≸otLessLess;≪otLessSlantEqual;⩽otLessTilde;≴otNestedGreaterGreater;⪢otNestedLessLess;⪡otPrecedes;⊀otPrecedesEqual;⪯otPrecedesSlantEqual;⋠otReverseElement;∌otRightTriangle;⋫otRightTriangleBar;⧐otRightTriangleEqual;⋭otSquareSubset;⊏otSquareSubsetEqual;⋢otSquareSuperset;⊐otSquareSupersetEqual;⋣otSubset;⊂otSubsetEqual;⊈otSucceeds;⊁otSucceedsEqual;⪰otSucceedsSlantEqual;⋡otSucceedsTilde;≿otSuperset;⊃otSupersetEqual;⊉otTilde;≁otTildeEqual;≄otTildeFullEqual;≇otTildeTilde;≉otVerticalBar;∤scr;𝒩tilde;Ñu;Ν",
    // O
    "Elig;Œacute;Ócirc;Ôcy;Оdblac;Őfr;𝔒grave;Òmacr;Ōmega;Ωmicron;Οopf;𝕆penCurlyDoubleQuote;\u{201c}penCurlyQuote;\u{2018}r;⩔scr;𝒪slash;Øtilde;Õtimes;⨷uml;ÖverBar;\u{203e}verBrace;⏞verBracket;⎴verParenthesis;⏜",
    // P
    "artialD;∂cy;Пfr;𝔓hi;Φi;ΠlusMinus;±oincareplane;ℌopf;ℙr;⪻recedes;≺recedesEqual;⪯recedesSlantEqual;≼recedesTilde;≾rime;\u{2033}roduct;∏roportion;∷roportional;∝scr;𝒫si;Ψ",
    // Q
    "UOT;\"fr;𝔔opf;ℚscr;𝒬",
    // R
    "Barr;⤐EG;®acute;Ŕang;⟫arr;↠arrtl;⤖caron;Řcedil;Ŗcy;Рe;ℜeverseElement;∋everseEquilibrium;⇋everseUpEquilibrium;⥯fr;ℜho;ΡightAngleBracket;⟩ightArrow;→ightArrowBar;⇥ightArrowLeftArrow;⇄ightCeiling;⌉ightDoubleBracket;⟧ightDownTeeVector;⥝ightDownVector;⇂ightDownVectorBar;⥕ightFloor;⌋ightTee;⊢ightTeeArrow;↦ightTeeVector;⥛ightTriangle;⊳ightTriangleBar;⧐ightTriangleEqual;⊵ightUpDownVector;⥏ightUpTeeVector;⥜ightUpVector;↾ightUpVectorBar;⥔ightVector;⇀ightVectorBar;⥓ightarrow;⇒opf;ℝoundImplies;⥰rightarrow;⇛scr;ℛsh;↱uleDelayed;⧴",
    // S
    "HCHcy;ЩHcy;ШOFTcy;Ьacute;Śc;⪼caron;Šcedil;Şcirc;Ŝcy;Сfr;𝔖hortDownArrow;↓hortLeftArrow;←hortRightArrow;→hortUpArrow;↑igma;ΣmallCircle;∘opf;𝕊qrt;√quare;□quareIntersection;⊓quareSubset;⊏quareSubsetEqual;⊑quareSuperset;⊐quareSupersetEqual;⊒quareUnion;⊔scr;𝒮tar;⋆ub;⋐ubset;⋐ubsetEqual;⊆ucceeds;≻ucceedsEqual;⪰ucceedsSlantEqual;≽ucceedsTilde;≿uchThat;∋um;∑up;⋑uperset;⊃upersetEqual;⊇upset;⋑",
    // T
    "HORN;ÞRADE;™SHcy;ЋScy;Цab;\u{9}au;Τcaron;Ťcedil;Ţcy;Тfr;𝔗herefore;∴heta;ΘhickSpace;\u{205f}hinSpace;\u{2009}ilde;∼ildeEqual;≃ildeFullEqual;≅ildeTilde;≈opf;𝕋ripleDot;⃛scr;𝒯strok;Ŧ",
    // U
    "acute;Úarr;↟arrocir;⥉brcy;Ўbreve;Ŭcirc;Ûcy;Уdblac;Űfr;𝔘grave;Ùmacr;ŪnderBar;_nderBrace;⏟nderBracket;⎵nderParenthesis;⏝nion;⋃nionPlus;⊎ogon;Ųopf;𝕌pArrow;↑pArrowBar;⤒pArrowDownArrow;⇅pDownArrow;↕pEquilibrium;⥮pTee;⊥pTeeArrow;↥parrow;⇑pdownarrow;⇕pperLeftArrow;↖pperRightArrow;↗psi;ϒpsilon;Υring;Ůscr;𝒰tilde;Ũuml;Ü",
    // V
    "Dash;⊫bar;⫫cy;Вdash;⊩dashl;⫦ee;⋁erbar;\u{2016}ert;\u{2016}erticalBar;∣erticalLine;|erticalSeparator;❘erticalTilde;≀eryThinSpace;\u{200a}fr;𝔙opf;𝕍scr;𝒱vdash;⊪",
    // W
    "circ;Ŵedge;⋀fr;𝔚opf;𝕎scr;𝒲",
    // X
    "fr;𝔛i;Ξopf;𝕏scr;𝒳",
    // Y
    "Acy;ЯIcy;ЇUcy;Юacute;Ýcirc;Ŷcy;Ыfr;𝔜opf;𝕐scr;𝒴uml;Ÿ",
    // Z
    "Hcy;Жacute;Źcaron;Žcy;Зdot;ŻeroWidthSpace;\u{200b}eta;Ζfr;ℨopf;ℤscr;𝒵",
    // a
    "acute;ábreve;ăc;∾cE;∾cd;∿circ;âcute;´cy;аelig;æf;\u{2061}fr;𝔞grave;àlefsym;ℵleph;ℵlpha;αmacr;āmalg;⨿mp;&nd;∧ndand;⩕ndd;⩜ndslope;⩘ndv;⩚ng;∠nge;⦤ngle;∠ngmsd;∡ngmsdaa;⦨ngmsdab;⦩ngmsdac;⦪ngmsdad;⦫ngmsdae;⦬ngmsdaf;⦭ngmsdag;⦮ngmsdah;⦯ngrt;∟ngrtvb;⊾ngrtvbd;⦝ngsph;∢ngst;Ångzarr;⍼ogon;ąopf;𝕒p;≈pE;⩰pacir;⩯pe;≊pid;≋pos;'pprox;≈pproxeq;≊ring;åscr;𝒶st;*symp;≈sympeq;≍tilde;ãuml;äwconint;∳wint;⨑",
    // b
    "Not;⫭ackcong;≌ackepsilon;϶ackprime;\u{2035}acksim;∽acksimeq;⋍arvee;⊽arwed;⌅arwedge;⌅brk;⎵brktbrk;⎶cong;≌cy;бdquo;\u{201e}ecaus;∵ecause;∵emptyv;⦰epsi;϶ernou;ℬeta;βeth;ℶetween;≬fr;𝔟igcap;⋂igcirc;◯igcup;⋃igodot;⨀igoplus;⨁igotimes;⨂igsqcup;⨆igstar;★igtriangledown;▽igtriangleup;△iguplus;⨄igvee;⋁igwedge;⋀karow;⤍lacklozenge;⧫lacksquare;▪lacktriangle;▴lacktriangledown;▾lacktriangleleft;◂lacktriangleright;▸lank;␣lk12;▒lk14;░lk34;▓lock;█ne;=nequiv;≡not;⌐opf;𝕓ot;⊥ottom;⊥owtie;⋈oxDL;╗oxDR;╔oxDl;╖oxDr;╓oxH;═oxHD;╦oxHU;╩oxHd;╤oxHu;╧oxUL;╝oxUR;╚oxUl;╜oxUr;╙oxV;║oxVH;╬oxVL;╣oxVR;╠oxVh;╫oxVl;╢oxVr;╟oxbox;⧉oxdL;╕oxdR;╒oxdl;┐oxdr;┌oxh;─oxhD;╥oxhU;╨oxhd;┬oxhu;┴oxminus;⊟oxplus;⊞oxtimes;⊠oxuL;╛oxuR;╘oxul;┘oxur;└oxv;│oxvH;╪oxvL;╡oxvR;╞oxvh;┼oxvl;┤oxvr;├prime;\u{2035}reve;˘rvbar;¦scr;𝒷semi;\u{204f}sim;∽sime;⋍sol;\\solb;⧅solhsub;⟈ull;\u{2022}ullet;\u{2022}ump;≎umpE;⪮umpe;≏umpeq;≏",
    // c
    "acute;ćap;∩apand;⩄apbrcup;⩉apcap;⩋apcup;⩇apdot;⩀aps;∩aret;\u{2041}aron;ˇcaps;⩍caron;čcedil;çcirc;ĉcups;⩌cupssm;⩐dot;ċedil;¸emptyv;⦲ent;¢enterdot;·fr;𝔠hcy;чheck;✓heckmark;✓hi;χir;○irE;⧃irc;ˆirceq;≗irclearrowleft;↺irclearrowright;↻ircledR;®ircledS;Ⓢircledast;⊛ircledcirc;⊚ircleddash;⊝ire;≗irfnint;⨐irmid;⫯irscir;⧂lubs;♣lubsuit;♣olon;:olone;≔oloneq;≔omma;,ommat;@omp;∁ompfn;∘omplement;∁omplexes;ℂong;≅ongdot;⩭onint;∮opf;𝕔oprod;∐opy;©opysr;℗rarr;↵ross;✗scr;𝒸sub;⫏sube;⫑sup;⫐supe;⫒tdot;⋯udarrl;⤸udarrr;⤵uepr;⋞uesc;⋟ularr;↶ularrp;⤽up;∪upbrcap;⩈upcap;⩆upcup;⩊updot;⊍upor;⩅ups;∪urarr;↷urarrm;⤼urlyeqprec;⋞urlyeqsucc;⋟urlyvee;⋎urlywedge;⋏urren;¤urvearrowleft;↶urvearrowright;↷uvee;⋎uwed;⋏wconint;∲wint;∱ylcty;⌭",
    // d
    "Arr;⇓Har;⥥agger;\u{2020}aleth;ℸarr;↓ash;\u{2010}ashv;⊣bkarow;⤏blac;˝caron;ďcy;дd;ⅆdagger;\u{2021}darr;⇊dotseq;⩷eg;°elta;δemptyv;⦱fisht;⥿fr;𝔡harl;⇃harr;⇂iam;⋄iamond;⋄iamondsuit;♦iams;♦ie;¨igamma;ϝisin;⋲iv;÷ivide;÷ivideontimes;⋇ivonx;⋇jcy;ђlcorn;⌞lcrop;⌍ollar;$opf;𝕕ot;˙oteq;≐oteqdot;≑otminus;∸otplus;∔otsquare;⊡oublebarwedge;⌆ownarrow;↓owndownarrows;⇊ownharpoonleft;⇃ownharpoonright;⇂rbkarow;⤐rcorn;⌟rcrop;⌌scr;𝒹scy;ѕsol;⧶strok;đtdot;⋱tri;▿trif;▾uarr;⇵uhar;⥯wangle;⦦zcy;џzigrarr;⟿",
    // e
    "DDot;⩷Dot;≑acute;éaster;⩮caron;ěcir;≖circ;êcolon;≕cy;эdot;ėe;ⅇfDot;≒fr;𝔢g;⪚grave;ègs;⪖gsdot;⪘l;⪙linters;⏧ll;ℓls;⪕lsdot;⪗macr;ēmpty;∅mptyset;∅mptyv;∅msp;\u{2003}msp13;\u{2004}msp14;\u{2005}ng;ŋnsp;\u{2002}ogon;ęopf;𝕖par;⋕parsl;⧣plus;⩱psi;εpsilon;εpsiv;ϵqcirc;≖qcolon;≕qsim;≂qslantgtr;⪖qslantless;⪕quals;=quest;≟quiv;≡quivDD;⩸qvparsl;⧥rDot;≓rarr;⥱scr;ℯsdot;≐sim;≂ta;ηth;ðuml;ëuro;€xcl;!xist;∃xpectation;ℰxponentiale;ⅇ",
    // f
    "allingdotseq;≒cy;фemale;♀filig;ﬃflig;ﬀfllig;ﬄfr;𝔣ilig;ﬁjlig;flat;♭llig;ﬂltns;▱nof;ƒopf;𝕗orall;∀ork;⋔orkv;⫙partint;⨍rac12;½rac13;⅓rac14;¼rac15;⅕rac16;⅙rac18;⅛rac23;⅔rac25;⅖rac34;¾rac35;⅗rac38;⅜rac45;⅘rac56;⅚rac58;⅝rac78;⅞rasl;\u{2044}rown;⌢scr;𝒻",
    // g
    "E;≧El;⪌acute;ǵamma;γammad;ϝap;⪆breve;ğcirc;ĝcy;гdot;ġe;≥el;⋛eq;≥eqq;≧eqslant;⩾es;⩾escc;⪩esdot;⪀esdoto;⪂esdotol;⪄esl;⋛esles;⪔fr;𝔤g;≫gg;⋙imel;ℷjcy;ѓl;≷lE;⪒la;⪥lj;⪤nE;≩nap;⪊napprox;⪊ne;⪈neq;⪈neqq;≩nsim;⋧opf;𝕘rave;`scr;ℊsim;≳sime;⪎siml;⪐t;>tcc;⪧tcir;⩺tdot;⋗tlPar;⦕tquest;⩼trapprox;⪆trarr;⥸trdot;⋗treqless;⋛treqqless;⪌trless;≷trsim;≳vertneqq;≩vnE;≩",
    // h
    "Arr;⇔airsp;\u{200a}alf;½amilt;ℋardcy;ъarr;↔arrcir;⥈arrw;↭bar;ℏcirc;ĥearts;♥eartsuit;♥ellip;\u{2026}ercon;⊹fr;𝔥ksearow;⤥kswarow;⤦oarr;⇿omtht;∻ookleftarrow;↩ookrightarrow;↪opf;𝕙orbar;\u{2015}scr;𝒽slash;ℏstrok;ħybull;\u{2043}yphen;\u{2010}",
    // i
    "acute;íc;\u{2063}circ;îcy;иecy;еexcl;¡ff;⇔fr;𝔦grave;ìi;ⅈiiint;⨌iint;∭infin;⧜iota;℩jlig;ĳmacr;īmage;ℑmagline;ℐmagpart;ℑmath;ımof;⊷mped;Ƶn;∈ncare;℅nfin;∞nfintie;⧝nodot;ınt;∫ntcal;⊺ntegers;ℤntercal;⊺ntlarhk;⨗ntprod;⨼ocy;ёogon;įopf;𝕚ota;ιprod;⨼quest;¿scr;𝒾sin;∈sinE;⋹sindot;⋵sins;⋴sinsv;⋳sinv;∈t;\u{2062}tilde;ĩukcy;іuml;ï",
    // j
    "circ;ĵcy;йfr;𝔧math;ȷopf;𝕛scr;𝒿sercy;јukcy;є",
    // k
    "appa;κappav;ϰcedil;ķcy;кfr;𝔨green;ĸhcy;хjcy;ќopf;𝕜scr;𝓀",
    // l
    "Aarr;⇚Arr;⇐Atail;⤛Barr;⤎E;≦Eg;⪋Har;⥢acute;ĺaemptyv;⦴agran;ℒambda;λang;⟨angd;⦑angle;⟨ap;⪅aquo;«arr;←arrb;⇤arrbfs;⤟arrfs;⤝arrhk;↩arrlp;↫arrpl;⤹arrsim;⥳arrtl;↢at;⪫atail;⤙ate;⪭ates;⪭barr;⤌bbrk;❲brace;{brack;[brke;⦋brksld;⦏brkslu;⦍caron;ľcedil;ļceil;⌈cub;{cy;лdca;⤶dquo;\u{201c}dquor;\u{201e}drdhar;⥧drushar;⥋dsh;↲e;≤eftarrow;←eftarrowtail;↢eftharpoondown;↽eftharpoonup;↼eftleftarrows;⇇eftrightarrow;↔eftrightarrows;⇆eftrightharpoons;⇋eftrightsquigarrow;↭eftthreetimes;⋋eg;⋚eq;≤eqq;≦eqslant;⩽es;⩽escc;⪨esdot;⩿esdoto;⪁esdotor;⪃esg;⋚esges;⪓essapprox;⪅essdot;⋖esseqgtr;⋚esseqqgtr;⪋essgtr;≶esssim;≲fisht;⥼floor;⌊fr;𝔩g;≶gE;⪑hard;↽haru;↼harul;⥪hblk;▄jcy;љl;≪larr;⇇lcorner;⌞lhard;⥫ltri;◺midot;ŀmoust;⎰moustache;⎰nE;≨nap;⪉napprox;⪉ne;⪇neq;⪇neqq;≨nsim;⋦oang;⟬oarr;⇽obrk;⟦ongleftarrow;⟵ongleftrightarrow;⟷ongmapsto;⟼ongrightarrow;⟶ooparrowleft;↫ooparrowright;↬opar;⦅opf;𝕝oplus;⨭otimes;⨴owast;∗owbar;_oz;◊ozenge;◊ozf;⧫par;(parlt;⦓rarr;⇆rcorner;⌟rhar;⇋rhard;⥭rm;\u{200e}rtri;⊿saquo;\u{2039}scr;𝓁sh;↰sim;≲sime;⪍simg;⪏sqb;[squo;\u{2018}squor;\u{201a}strok;łt;<tcc;⪦tcir;⩹tdot;⋖three;⋋times;⋉tlarr;⥶tquest;⩻trPar;⦖tri;◃trie;⊴trif;◂urdshar;⥊uruhar;⥦vertneqq;≨vnE;≨",
    // m
    "DDot;∺acr;¯ale;♂alt;✠altese;✠ap;↦apsto;↦apstodown;↧apstoleft;↤apstoup;↥arker;▮comma;⨩cy;мdash;\u{2014}easuredangle;∡fr;𝔪ho;℧icro;µid;∣idast;*idcir;⫰iddot;·inus;−inusb;⊟inusd;∸inusdu;⨪lcp;⫛ldr;\u{2026}nplus;∓odels;⊧opf;𝕞p;∓scr;𝓂stpos;∾u;μultimap;⊸umap;⊸",
    // n
    "Gg;⋙Gt;≫Gtv;≫Leftarrow;⇍Leftrightarrow;⇎Ll;⋘Lt;≪Ltv;≪Rightarrow;⇏VDash;⊯Vdash;⊮abla;∇acute;ńang;∠ap;≉apE;⩰apid;≋apos;ŉapprox;≉atur;♮atural;♮aturals;ℕbsp;\u{a0}bump;≎bumpe;≏cap;⩃caron;ňcedil;ņcong;≇congdot;⩭cup;⩂cy;нdash;\u{2013}e;≠eArr;⇗earhk;⤤earr;↗earrow;↗edot;≐equiv;≢esear;⤨esim;≂exist;∄exists;∄fr;𝔫gE;≧ge;≱geq;≱geqq;≧geqslant;⩾ges;⩾gsim;≵gt;≯gtr;≯hArr;⇎harr;↮hpar;⫲i;∋is;⋼isd;⋺iv;∋jcy;њlArr;⇍lE;≦larr;↚ldr;\u{2025}le;≰leftarrow;↚leftrightarrow;↮leq;≰leqq;≦leqslant;⩽les;⩽less;≮lsim;≴lt;≮ltri;⋪ltrie;⋬mid;∤opf;𝕟ot;¬otin;∉otinE;⋹otindot;⋵otinva;∉otinvb;⋷otinvc;⋶otni;∌otniva;∌otnivb;⋾otnivc;⋽par;∦parallel;∦parsl;⫽part;∂polint;⨔pr;⊀prcue;⋠pre;⪯prec;⊀preceq;⪯rArr;⇏rarr;↛rarrc;⤳rarrw;↝rightarrow;↛rtri;⋫rtrie;⋭sc;⊁sccue;⋡sce;⪰scr;𝓃shortmid;∤shortparallel;∦sim;≁sime;≄simeq;≄smid;∤spar;∦sqsube;⋢sqsupe;⋣sub;⊄subE;⫅sube;⊈subset;⊂subseteq;⊈subseteqq;⫅succ;⊁succeq;⪰sup;⊅supE;⫆supe;⊉supset;⊃supseteq;⊉supseteqq;⫆tgl;≹tilde;ñtlg;≸triangleleft;⋪trianglelefteq;⋬triangleright;⋫trianglerighteq;⋭u;νum;#umero;№umsp;\u{2007}vDash;⊭vHarr;⤄vap;≍vdash;⊬vge;≥vgt;>vinfin;⧞vlArr;⤂vle;≤vlt;<vltrie;⊴vrArr;⤃vrtrie;⊵vsim;∼wArr;⇖warhk;⤣warr;↖warrow;↖wnear;⤧",
    // o
    "S;Ⓢacute;óast;⊛cir;⊚circ;ôcy;оdash;⊝dblac;ődiv;⨸dot;⊙dsold;⦼elig;œfcir;⦿fr;𝔬gon;˛grave;ògt;⧁hbar;⦵hm;Ωint;∮larr;↺lcir;⦾lcross;⦻line;\u{203e}lt;⧀macr;ōmega;ωmicron;οmid;⦶minus;⊖opf;𝕠par;⦷perp;⦹plus;⊕r;∨rarr;↻rd;⩝rder;ℴrderof;ℴrdf;ªrdm;ºrigof;⊶ror;⩖rslope;⩗rv;⩛scr;ℴslash;øsol;⊘tilde;õtimes;⊗timesas;⨶uml;övbar;⌽",
    // p
    "ar;∥ara;¶arallel;∥arsim;⫳arsl;⫽art;∂cy;пercnt;%eriod;.ermil;\u{2030}erp;⊥ertenk;\u{2031}fr;𝔭hi;φhiv;ϕhmmat;ℳhone;☎i;πitchfork;⋔iv;ϖlanck;ℏlanckh;ℎlankv;ℏlus;+lusacir;⨣lusb;⊞luscir;⨢lusdo;∔lusdu;⨥luse;⩲lusmn;±lussim;⨦lustwo;⨧m;±ointint;⨕opf;𝕡ound;£r;≺rE;⪳rap;⪷rcue;≼re;⪯rec;≺recapprox;⪷reccurlyeq;≼receq;⪯recnapprox;⪹recneqq;⪵recnsim;⋨recsim;≾rime;\u{2032}rimes;ℙrnE;⪵rnap;⪹rnsim;⋨rod;∏rofalar;⌮rofline;⌒rofsurf;⌓rop;∝ropto;∝rsim;≾rurel;⊰scr;𝓅si;ψuncsp;\u{2008}",
    // q
    "fr;𝔮int;⨌opf;𝕢prime;\u{2057}scr;𝓆uaternions;ℍuatint;⨖uest;?uesteq;≟uot;\"",
    // r
    "Aarr;⇛Arr;⇒Atail;⤜Barr;⤏Har;⥤ace;∽acute;ŕadic;√aemptyv;⦳ang;⟩angd;⦒ange;⦥angle;⟩aquo;»arr;→arrap;⥵arrb;⇥arrbfs;⤠arrc;⤳arrfs;⤞arrhk;↪arrlp;↬arrpl;⥅arrsim;⥴arrtl;↣arrw;↝atail;⤚atio;∶ationals;ℚbarr;⤍bbrk;❳brace;}brack;]brke;⦌brksld;⦎brkslu;⦐caron;řcedil;ŗceil;⌉cub;}cy;рdca;⤷dldhar;⥩dquo;\u{201d}dquor;\u{201d}dsh;↳eal;ℜealine;ℛealpart;ℜeals;ℝect;▭eg;®fisht;⥽floor;⌋fr;𝔯hard;⇁haru;⇀harul;⥬ho;ρhov;ϱightarrow;→ightarrowtail;↣ightharpoondown;⇁ightharpoonup;⇀ightleftarrows;⇄ightleftharpoons;⇌ightrightarrows;⇉ightsquigarrow;↝ightthreetimes;⋌ing;˚isingdotseq;≓larr;⇄lhar;⇌lm;\u{200f}moust;⎱moustache;⎱nmid;⫮oang;⟭oarr;⇾obrk;⟧opar;⦆opf;𝕣oplus;⨮otimes;⨵par;)pargt;⦔ppolint;⨒rarr;⇉saquo;\u{203a}scr;𝓇sh;↱sqb;]squo;\u{2019}squor;\u{2019}three;⋌times;⋊tri;▹trie;⊵trif;▸triltri;⧎uluhar;⥨x;℞",
    // s
    "acute;śbquo;\u{201a}c;≻cE;⪴cap;⪸caron;šccue;≽ce;⪰cedil;şcirc;ŝcnE;⪶cnap;⪺cnsim;⋩cpolint;⨓csim;≿cy;сdot;⋅dotb;⊡dote;⩦eArr;⇘earhk;⤥earr;↘earrow;↘ect;§emi;;eswar;⤩etminus;∖etmn;∖ext;✶fr;𝔰frown;⌢harp;♯hchcy;щhcy;шhortmid;∣hortparallel;∥hy;\u{ad}igma;σigmaf;ςigmav;ςim;∼imdot;⩪ime;≃imeq;≃img;⪞imgE;⪠iml;⪝imlE;⪟imne;≆implus;⨤imrarr;⥲larr;←mallsetminus;∖mashp;⨳meparsl;⧤mid;∣mile;⌣mt;⪪mte;⪬mtes;⪬oftcy;ьol;/olb;⧄olbar;⌿opf;𝕤pades;♠padesuit;♠par;∥qcap;⊓qcaps;⊓qcup;⊔qcups;⊔qsub;⊏qsube;⊑qsubset;⊏qsubseteq;⊑qsup;⊐qsupe;⊒qsupset;⊐qsupseteq;⊒qu;□quare;□quarf;▪quf;▪rarr;→scr;𝓈setmn;∖smile;⌣starf;⋆tar;☆tarf;★traightepsilon;ϵtraightphi;ϕtrns;¯ub;⊂ubE;⫅ubdot;⪽ube;⊆ubedot;⫃ubmult;⫁ubnE;⫋ubne;⊊ubplus;⪿ubrarr;⥹ubset;⊂ubseteq;⊆ubseteqq;⫅ubsetneq;⊊ubsetneqq;⫋ubsim;⫇ubsub;⫕ubsup;⫓ucc;≻uccapprox;⪸ucccurlyeq;≽ucceq;⪰uccnapprox;⪺uccneqq;⪶uccnsim;⋩uccsim;≿um;∑ung;♪up;⊃up1;¹up2;²up3;³upE;⫆updot;⪾updsub;⫘upe;⊇upedot;⫄uphsol;⟉uphsub;⫗uplarr;⥻upmult;⫂upnE;⫌upne;⊋upplus;⫀upset;⊃upseteq;⊇upseteqq;⫆upsetneq;⊋upsetneqq;⫌upsim;⫈upsub;⫔upsup;⫖wArr;⇙warhk;⤦warr;↙warrow;↙wnwar;⤪zlig;ß",
    // t
    "arget;⌖au;τbrk;⎴caron;ťcedil;ţcy;тdot;⃛elrec;⌕fr;𝔱here4;∴herefore;∴heta;θhetasym;ϑhetav;ϑhickapprox;≈hicksim;∼hinsp;\u{2009}hkap;≈hksim;∼horn;þilde;˜imes;×imesb;⊠imesbar;⨱imesd;⨰int;∭oea;⤨op;⊤opbot;⌶opcir;⫱opf;𝕥opfork;⫚osa;⤩prime;\u{2034}rade;™riangle;▵riangledown;▿riangleleft;◃rianglelefteq;⊴riangleq;≜riangleright;▹rianglerighteq;⊵ridot;◬rie;≜riminus;⨺riplus;⨹risb;⧍ritime;⨻rpezium;⏢scr;𝓉scy;цshcy;ћstrok;ŧwixt;≬woheadleftarrow;↞woheadrightarrow;↠",
    // u
    "Arr;⇑Har;⥣acute;úarr;↑brcy;ўbreve;ŭcirc;ûcy;уdarr;⇅dblac;űdhar;⥮fisht;⥾fr;𝔲grave;ùharl;↿harr;↾hblk;▀lcorn;⌜lcorner;⌜lcrop;⌏ltri;◸macr;ūml;¨ogon;ųopf;𝕦parrow;↑pdownarrow;↕pharpoonleft;↿pharpoonright;↾plus;⊎psi;υpsih;ϒpsilon;υpuparrows;⇈rcorn;⌝rcorner;⌝rcrop;⌎ring;ůrtri;◹scr;𝓊tdot;⋰tilde;ũtri;▵trif;▴uarr;⇈uml;üwangle;⦧",
    // v
    "Arr;⇕Bar;⫨Barv;⫩Dash;⊨angrt;⦜arepsilon;ϵarkappa;ϰarnothing;∅arphi;ϕarpi;ϖarpropto;∝arr;↕arrho;ϱarsigma;ςarsubsetneq;⊊arsubsetneqq;⫋arsupsetneq;⊋arsupsetneqq;⫌artheta;ϑartriangleleft;⊲artriangleright;⊳cy;вdash;⊢ee;∨eebar;⊻eeeq;≚ellip;⋮erbar;|ert;|fr;𝔳ltri;⊲nsub;⊂nsup;⊃opf;𝕧prop;∝rtri;⊳scr;𝓋subnE;⫋subne;⊊supnE;⫌supne;⊋zigzag;⦚",
    // w
    "circ;ŵedbar;⩟edge;∧edgeq;≙eierp;℘fr;𝔴opf;𝕨p;℘r;≀reath;≀scr;𝓌",
    // x
    "cap;⋂circ;◯cup;⋃dtri;▽fr;𝔵hArr;⟺harr;⟷i;ξlArr;⟸larr;⟵map;⟼nis;⋻odot;⨀opf;𝕩oplus;⨁otime;⨂rArr;⟹rarr;⟶scr;𝓍sqcup;⨆uplus;⨄utri;△vee;⋁wedge;⋀",
    // y
    "acute;ýacy;яcirc;ŷcy;ыen;¥fr;𝔶icy;їopf;𝕪scr;𝓎ucy;юuml;ÿ",
    // z
    "acute;źcaron;žcy;зdot;żeetrf;ℨeta;ζfr;𝔷hcy;жigrarr;⇝opf;𝕫scr;𝓏wj;\u{200d}wnj;\u{200c}",
];
