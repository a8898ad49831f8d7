"""Portuguese vocabulary of the demo factory: product lines, parts, materials, places and companies.

Everything here is plain data. The generator draws names from these lists with a seeded random
generator, so the same seed always gives the same names.
"""

from __future__ import annotations

from dataclasses import dataclass

COMPANY_NAME = "Indústria Exemplo Ltda"
COMPANY_DOMAIN = "industria-exemplo.com.br"


@dataclass(frozen=True)
class ProductLine:
    """A family of finished goods that share a category, a seasonality and typical parts.

    `nouns` are (noun, grammatical gender "m"/"f", sizes); `finishes` are (masculine, feminine) forms.
    """

    category: str
    nouns: tuple[tuple[str, str, tuple[str, ...]], ...]
    finishes: tuple[tuple[str, str], ...]
    body: str  # name of the main (level-1) semi-finished assembly
    sub_assemblies: tuple[str, ...]  # names of level-2 semi-finished assemblies
    seasonal_peak_week: int  # ISO week of the yearly demand peak


_POTS = ("16cm", "18cm", "20cm", "22cm", "24cm", "26cm", "28cm")
_COLORS_M = (("Preto", "Preta"), ("Branco", "Branca"), ("Cinza", "Cinza"), ("Azul", "Azul"), ("Verde", "Verde"))

PRODUCT_LINES: tuple[ProductLine, ...] = (
    ProductLine(
        "Cozinha",
        (
            ("Panela", "f", _POTS),
            ("Caçarola", "f", _POTS),
            ("Frigideira", "f", ("20cm", "22cm", "24cm", "26cm", "28cm", "30cm")),
            ("Chaleira", "f", ("1,5L", "2L", "2,5L", "3L")),
            ("Leiteira", "f", ("1L", "1,5L", "2L")),
            ("Assadeira", "f", ("30x20cm", "35x25cm", "40x28cm", "45x30cm")),
            ("Cuscuzeira", "f", ("14cm", "16cm", "18cm")),
            ("Caldeirão", "m", ("24cm", "28cm", "32cm", "36cm")),
        ),
        (
            ("Alumínio Polido", "Alumínio Polido"),
            ("Antiaderente Preto", "Antiaderente Preta"),
            ("Antiaderente Vermelho", "Antiaderente Vermelha"),
            ("Antiaderente Grafite", "Antiaderente Grafite"),
            ("Inox", "Inox"),
        ),
        "Corpo",
        ("Conjunto tampa", "Conjunto cabo", "Fundo difusor"),
        48,
    ),
    ProductLine(
        "Limpeza",
        (
            ("Balde", "m", ("5L", "8L", "10L", "12L", "15L", "20L")),
            ("Lixeira com Pedal", "f", ("5L", "8L", "12L", "20L", "30L", "50L")),
            ("Rodo", "m", ("30cm", "40cm", "50cm", "60cm")),
            ("Pá de Lixo", "f", ("Cabo Curto", "Cabo Longo")),
            ("Mop Giratório", "m", ("8L", "12L", "16L")),
            ("Cesto de Roupa", "m", ("30L", "45L", "60L")),
        ),
        (*_COLORS_M, ("Inox Escovado", "Inox Escovado")),
        "Corpo",
        ("Conjunto alça", "Conjunto pedal", "Base reforçada"),
        40,
    ),
    ProductLine(
        "Organização",
        (
            ("Estante de Aço", "f", ("3 Prateleiras", "4 Prateleiras", "5 Prateleiras", "6 Prateleiras")),
            ("Gaveteiro", "m", ("3 Gavetas", "4 Gavetas", "5 Gavetas")),
            ("Sapateira", "f", ("12 Pares", "18 Pares", "24 Pares")),
            ("Cabideiro", "m", ("Simples", "Duplo", "com Sapateira")),
            ("Organizador Modular", "m", ("2 Módulos", "3 Módulos", "4 Módulos")),
            ("Prateleira", "f", ("60cm", "80cm", "100cm", "120cm")),
        ),
        (*_COLORS_M[:3], ("Galvanizado", "Galvanizada"), ("Cromado", "Cromada")),
        "Estrutura",
        ("Coluna soldada", "Bandeja estampada", "Travessa reforço"),
        6,
    ),
    ProductLine(
        "Ventilação",
        (
            ("Ventilador de Coluna", "m", ("40cm", "50cm")),
            ("Ventilador de Mesa", "m", ("30cm", "40cm", "50cm")),
            ("Ventilador de Parede", "m", ("40cm", "50cm", "60cm")),
            ("Circulador de Ar", "m", ("30cm", "40cm")),
            ("Exaustor", "m", ("15cm", "20cm", "25cm", "30cm")),
        ),
        (
            ("127V Preto", "127V Preta"),
            ("220V Preto", "220V Preta"),
            ("127V Branco", "127V Branca"),
            ("220V Branco", "220V Branca"),
            ("Bivolt Cinza", "Bivolt Cinza"),
        ),
        "Conjunto motor-hélice",
        ("Grade soldada", "Base montada", "Conjunto oscilador"),
        2,
    ),
    ProductLine(
        "Utilidades",
        (
            ("Escada Doméstica", "f", ("3 Degraus", "4 Degraus", "5 Degraus", "6 Degraus", "7 Degraus")),
            ("Tábua de Passar", "f", ("Compacta", "Média", "Grande")),
            ("Varal de Chão", "m", ("Pequeno", "Médio", "Grande", "Sanfonado")),
            ("Carrinho de Feira", "m", ("2 Rodas", "4 Rodas")),
            ("Banqueta", "f", ("45cm", "60cm", "75cm")),
            ("Carrinho de Mão", "m", ("60L", "80L", "90L")),
        ),
        (("Alumínio", "Alumínio"), ("Branco", "Branca"), ("Preto", "Preta"), ("Galvanizado", "Galvanizada")),
        "Estrutura",
        ("Degrau estampado", "Conjunto rodas", "Pernas soldadas"),
        19,
    ),
    ProductLine(
        "Iluminação",
        (
            ("Luminária de Mesa", "f", ("Articulada", "Flexível", "Clássica")),
            ("Luminária de Piso", "f", ("Arco", "Tripé", "Haste Reta")),
            ("Refletor LED", "m", ("10W", "20W", "30W", "50W", "100W")),
            ("Arandela", "f", ("Meia-lua", "Tubo", "Quadrada")),
            ("Pendente", "m", ("Cúpula 30cm", "Cúpula 40cm", "Aramado")),
        ),
        (("Preto", "Preta"), ("Branco", "Branca"), ("Cobre", "Cobre"), ("Dourado", "Dourada"), ("Grafite", "Grafite")),
        "Corpo",
        ("Conjunto soquete", "Haste articulada", "Difusor montado"),
        20,
    ),
)

KIT_NOUNS: tuple[str, ...] = ("Jogo", "Kit", "Conjunto")

# (name stem, sizes, unit of measure, supplier category, category, price range per unit)
BoughtSpec = tuple[str, tuple[str, ...], str, str, str, tuple[float, float]]

RAW_MATERIALS: tuple[BoughtSpec, ...] = (
    (
        "Bobina aço carbono",
        ("0,45mm", "0,50mm", "0,60mm", "0,75mm", "0,90mm", "1,06mm", "1,20mm", "1,50mm", "1,90mm", "2,00mm", "2,65mm"),
        "KG",
        "Metais",
        "Aço",
        (6.5, 9.5),
    ),
    (
        "Chapa alumínio 1050",
        ("0,8mm", "1,0mm", "1,2mm", "1,5mm", "2,0mm", "2,5mm"),
        "KG",
        "Metais",
        "Alumínio",
        (22.0, 30.0),
    ),
    ("Chapa aço inox 430", ("0,5mm", "0,6mm", "0,8mm", "1,0mm"), "KG", "Metais", "Aço", (18.0, 26.0)),
    (
        "Tubo aço carbono",
        ("12,7mm", "15,9mm", "19,05mm", "22,2mm", "25,4mm", "31,8mm"),
        "M",
        "Metais",
        "Aço",
        (7.0, 16.0),
    ),
    ("Perfil alumínio", ("20x20mm", "25x25mm", "30x30mm", "U 19mm", "L 25mm"), "M", "Metais", "Alumínio", (9.0, 22.0)),
    ("Arame aço galvanizado", ("1,6mm", "2,0mm", "2,5mm", "3,4mm", "4,2mm"), "KG", "Metais", "Aço", (9.0, 13.0)),
    (
        "Polipropileno homopolímero",
        ("natural", "branco", "preto", "azul", "cinza"),
        "KG",
        "Plásticos",
        "Plástico",
        (8.5, 12.0),
    ),
    ("PEAD injeção", ("natural", "branco", "preto"), "KG", "Plásticos", "Plástico", (8.0, 11.0)),
    ("ABS injeção", ("natural", "preto", "branco", "cinza"), "KG", "Plásticos", "Plástico", (13.0, 18.0)),
    ("Baquelite fenólica", ("preta", "marrom"), "KG", "Plásticos", "Plástico", (14.0, 19.0)),
    (
        "Masterbatch",
        ("preto", "branco", "vermelho", "azul", "verde", "cinza"),
        "KG",
        "Plásticos",
        "Plástico",
        (18.0, 35.0),
    ),
    (
        "Tinta epóxi pó",
        ("branca", "preta", "cinza", "vermelha", "azul", "grafite", "cobre"),
        "KG",
        "Químicos",
        "Químico",
        (28.0, 45.0),
    ),
    ("Revestimento antiaderente PTFE", ("preto", "vermelho", "grafite"), "L", "Químicos", "Químico", (95.0, 140.0)),
    ("Verniz PU", ("brilhante", "fosco"), "L", "Químicos", "Químico", (38.0, 55.0)),
    ("Solvente thinner", ("2750", "8116"), "L", "Químicos", "Químico", (14.0, 22.0)),
    ("Fio cobre esmaltado", ("0,30mm", "0,40mm", "0,50mm", "0,65mm"), "KG", "Metais", "Cobre", (55.0, 75.0)),
    ("Vidro float", ("3mm", "4mm"), "KG", "Componentes", "Vidro", (6.0, 9.0)),
    ("Aço inox 304 bobina", ("0,4mm", "0,5mm", "0,6mm", "0,8mm"), "KG", "Metais", "Aço", (24.0, 32.0)),
    ("Zamac liga 5", ("lingote",), "KG", "Metais", "Zinco", (16.0, 21.0)),
    ("Borracha EPDM", ("perfil 8mm", "perfil 12mm", "lençol 3mm"), "KG", "Componentes", "Borracha", (15.0, 24.0)),
    ("Polipropileno copolímero", ("natural", "preto", "branco"), "KG", "Plásticos", "Plástico", (9.0, 12.5)),
    ("Poliestireno alto impacto", ("natural", "branco", "cristal"), "KG", "Plásticos", "Plástico", (10.0, 14.0)),
    ("Nylon 6 injeção", ("natural", "preto"), "KG", "Plásticos", "Plástico", (19.0, 26.0)),
    ("Tinta líquida base água", ("branca", "preta", "cinza"), "L", "Químicos", "Químico", (24.0, 36.0)),
    ("Adesivo PU bicomponente", ("A+B",), "L", "Químicos", "Químico", (48.0, 70.0)),
)

BOUGHT_COMPONENTS: tuple[BoughtSpec, ...] = (
    (
        "Parafuso Phillips zincado",
        ("M3x8", "M3x12", "M4x10", "M4x12", "M4x16", "M5x16", "M5x20", "M6x20", "M6x30", "M8x40"),
        "UN",
        "Fixadores",
        "Fixação",
        (0.04, 0.35),
    ),
    ("Rebite pop alumínio", ("3,2x8", "4x10", "4x12", "4,8x16"), "UN", "Fixadores", "Fixação", (0.03, 0.12)),
    ("Porca sextavada zincada", ("M3", "M4", "M5", "M6", "M8"), "UN", "Fixadores", "Fixação", (0.03, 0.20)),
    ("Arruela lisa", ("4mm", "5mm", "6mm", "8mm"), "UN", "Fixadores", "Fixação", (0.02, 0.08)),
    ("Bucha nylon", ("6mm", "8mm", "10mm"), "UN", "Fixadores", "Fixação", (0.05, 0.15)),
    (
        "Motor elétrico",
        ("127V 45W", "220V 45W", "127V 60W", "220V 60W", "127V 130W", "220V 130W", "Bivolt 80W"),
        "UN",
        "Elétricos",
        "Elétrico",
        (38.0, 95.0),
    ),
    ("Cabo de força", ("1,2m 2x0,75", "1,5m 2x0,75", "1,8m 2x1,0"), "UN", "Elétricos", "Elétrico", (4.5, 9.5)),
    ("Cabo elétrico PP", ("2x0,75mm", "2x1,0mm", "3x1,5mm"), "M", "Elétricos", "Elétrico", (2.0, 5.5)),
    ("Interruptor", ("liga-desliga", "3 velocidades", "dimmer", "tecla"), "UN", "Elétricos", "Elétrico", (2.5, 12.0)),
    ("Soquete E27", ("porcelana", "baquelite"), "UN", "Elétricos", "Elétrico", (1.8, 4.5)),
    ("Driver LED", ("10W", "20W", "30W", "50W"), "UN", "Elétricos", "Elétrico", (9.0, 32.0)),
    ("Placa LED SMD", ("10W", "20W", "30W", "50W"), "UN", "Elétricos", "Elétrico", (6.0, 28.0)),
    ("Capacitor motor", ("1,5uF", "2,0uF", "2,5uF", "3,5uF"), "UN", "Elétricos", "Elétrico", (3.0, 7.0)),
    ("Mola torção aço inox", ("pequena", "média", "grande"), "UN", "Componentes", "Mecânico", (0.25, 1.2)),
    ("Rodízio giratório", ("40mm", "50mm", "75mm"), "UN", "Componentes", "Mecânico", (2.2, 7.5)),
    ("Roda borracha maciça", ("150mm", "200mm", "250mm"), "UN", "Componentes", "Mecânico", (8.0, 19.0)),
    ("Pé de borracha", ("15mm", "20mm", "25mm", "30mm"), "UN", "Componentes", "Mecânico", (0.08, 0.40)),
    ("Ponteira plástica", ('3/4"', '7/8"', '1"', "quadrada 25mm"), "UN", "Componentes", "Mecânico", (0.06, 0.30)),
    (
        "Vidro temperado tampa",
        ("Ø16cm", "Ø18cm", "Ø20cm", "Ø22cm", "Ø24cm", "Ø26cm", "Ø28cm"),
        "UN",
        "Componentes",
        "Vidro",
        (4.0, 9.5),
    ),
    ("Anel vedação silicone", ("Ø16cm", "Ø20cm", "Ø24cm", "Ø28cm"), "UN", "Componentes", "Borracha", (0.9, 2.4)),
    ("Rolamento 608ZZ", ("padrão", "blindado"), "UN", "Componentes", "Mecânico", (1.2, 2.8)),
    ("Engrenagem oscilador", ("nylon", "zamac"), "UN", "Componentes", "Mecânico", (1.5, 4.0)),
    (
        "Parafuso autoatarraxante",
        ("2,9x9,5", "3,5x13", "3,9x16", "4,2x19", "4,8x25"),
        "UN",
        "Fixadores",
        "Fixação",
        (0.03, 0.15),
    ),
    (
        "Terminal elétrico",
        ("faston 4,8mm", "faston 6,3mm", "olhal 4mm", "pino 1,5mm"),
        "UN",
        "Elétricos",
        "Elétrico",
        (0.04, 0.25),
    ),
    ("Plugue macho", ("2P 10A", "2P+T 10A", "2P+T 20A"), "UN", "Elétricos", "Elétrico", (1.5, 4.0)),
    ("Fusível vidro", ("1A", "2A", "5A"), "UN", "Elétricos", "Elétrico", (0.3, 0.9)),
    ("Trava plástica", ("10mm", "15mm", "20mm"), "UN", "Componentes", "Mecânico", (0.05, 0.3)),
    ("Pino elástico", ("3x16", "4x20", "5x30"), "UN", "Fixadores", "Fixação", (0.05, 0.2)),
    ("Ímã neodímio", ("10x3mm", "15x5mm"), "UN", "Componentes", "Mecânico", (0.6, 2.0)),
    ("Dobradiça aço zincado", ("25mm", "35mm", "50mm"), "UN", "Fixadores", "Fixação", (0.4, 1.5)),
    ("Puxador alumínio", ("96mm", "128mm", "160mm"), "UN", "Componentes", "Mecânico", (1.8, 4.5)),
    ("Corrediça telescópica", ("300mm", "350mm", "400mm", "450mm"), "UN", "Componentes", "Mecânico", (6.0, 14.0)),
    ("Chave seletora", ("2 posições", "3 posições"), "UN", "Elétricos", "Elétrico", (1.5, 3.5)),
    ("Termostato bimetálico", ("60°C", "90°C", "120°C"), "UN", "Elétricos", "Elétrico", (2.5, 6.0)),
    ("Abraçadeira nylon", ("100mm", "200mm", "300mm"), "UN", "Fixadores", "Fixação", (0.02, 0.08)),
    ("Válvula de segurança", ("alumínio", "inox"), "UN", "Componentes", "Mecânico", (2.0, 5.0)),
    ("Arruela de pressão", ("M4", "M5", "M6", "M8"), "UN", "Fixadores", "Fixação", (0.02, 0.07)),
)

PACKAGING: tuple[BoughtSpec, ...] = (
    (
        "Caixa papelão onda simples",
        (
            "20x20x15",
            "25x25x20",
            "30x30x20",
            "35x35x25",
            "40x30x30",
            "45x45x35",
            "50x40x40",
            "60x40x40",
            "80x30x20",
            "120x40x15",
        ),
        "UN",
        "Embalagens",
        "Embalagem secundária",
        (1.2, 6.5),
    ),
    (
        "Caixa master onda dupla",
        ("60x40x40", "80x60x40", "100x60x50"),
        "UN",
        "Embalagens",
        "Embalagem secundária",
        (5.5, 12.0),
    ),
    ("Cartucho impresso", ("pequeno", "médio", "grande"), "UN", "Embalagens", "Embalagem primária", (0.6, 2.2)),
    ("Etiqueta adesiva código de barras", ("50x30mm", "100x50mm"), "UN", "Embalagens", "Rotulagem", (0.02, 0.08)),
    (
        "Manual de instruções",
        ("Cozinha", "Ventilação", "Iluminação", "Utilidades", "Organização", "Limpeza"),
        "UN",
        "Embalagens",
        "Rotulagem",
        (0.15, 0.6),
    ),
    (
        "Saco plástico PEBD",
        ("20x30", "30x40", "40x60", "60x90"),
        "UN",
        "Embalagens",
        "Embalagem primária",
        (0.05, 0.35),
    ),
    ("Filme stretch", ("500mm x 25µm",), "M", "Embalagens", "Embalagem secundária", (0.03, 0.05)),
    ("Calço EPS", ("pequeno", "médio", "grande"), "UN", "Embalagens", "Embalagem primária", (0.4, 1.8)),
    ("Fita adesiva transparente", ("48mm x 100m",), "M", "Embalagens", "Embalagem secundária", (0.04, 0.06)),
    ("Cantoneira papelão", ("35x35x3mm",), "M", "Embalagens", "Embalagem secundária", (0.6, 0.9)),
)

RESALE: tuple[BoughtSpec, ...] = (
    ("Pano de prato algodão", ("kit 3", "kit 5"), "CX", "Distribuidores", "Revenda", (9.0, 16.0)),
    ("Esponja multiuso", ("pct 4", "pct 10"), "CX", "Distribuidores", "Revenda", (2.5, 6.0)),
    ("Luva de borracha", ("P", "M", "G"), "UN", "Distribuidores", "Revenda", (2.8, 4.5)),
    ("Pilha alcalina", ("AA cartela 4", "AAA cartela 4"), "CX", "Distribuidores", "Revenda", (7.5, 12.0)),
    ("Saco de lixo", ("30L rolo", "50L rolo", "100L rolo"), "UN", "Distribuidores", "Revenda", (4.0, 11.0)),
    ("Prendedor de roupa", ("pct 12", "pct 24"), "CX", "Distribuidores", "Revenda", (3.0, 6.0)),
    ("Pano microfibra", ("40x40", "60x40"), "UN", "Distribuidores", "Revenda", (3.0, 6.5)),
    ("Refil mop", ("giratório", "plano"), "UN", "Distribuidores", "Revenda", (8.0, 15.0)),
    ("Lâmpada LED bulbo", ("9W", "12W", "15W"), "UN", "Distribuidores", "Revenda", (5.0, 9.0)),
    ("Escova sanitária", ("com suporte", "simples"), "UN", "Distribuidores", "Revenda", (6.0, 11.0)),
    ("Coador de café", ("nº 102", "nº 103"), "UN", "Distribuidores", "Revenda", (4.0, 8.0)),
    ("Jogo de facas inox", ("3 peças", "5 peças"), "CX", "Distribuidores", "Revenda", (18.0, 40.0)),
    ("Copo de vidro", ("cx 6 200ml", "cx 6 300ml", "cx 12 300ml"), "CX", "Distribuidores", "Revenda", (12.0, 30.0)),
    ("Jogo de talheres inox", ("24 peças", "30 peças", "42 peças"), "CX", "Distribuidores", "Revenda", (35.0, 80.0)),
    ("Pote hermético", ("500ml", "1L", "kit 3"), "UN", "Distribuidores", "Revenda", (6.0, 22.0)),
    ("Tábua de corte", ("polietileno", "bambu"), "UN", "Distribuidores", "Revenda", (9.0, 25.0)),
    ("Escorredor de louça", ("simples", "duplo"), "UN", "Distribuidores", "Revenda", (18.0, 40.0)),
    ("Garrafa térmica", ("500ml", "1L", "1,8L"), "UN", "Distribuidores", "Revenda", (22.0, 55.0)),
    ("Detergente concentrado", ("500ml", "5L"), "UN", "Distribuidores", "Revenda", (3.0, 18.0)),
    ("Fósforo longo", ("cx 10", "cx 50"), "CX", "Distribuidores", "Revenda", (3.0, 12.0)),
    ("Extensão elétrica", ("3m", "5m", "10m"), "UN", "Distribuidores", "Revenda", (12.0, 30.0)),
)

# Made components: (name stem, material stem it is made of, typical work centers)
MADE_COMPONENTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Disco repuxado", "Chapa alumínio 1050", ("CT01", "CT10")),
    ("Chapa estampada", "Bobina aço carbono", ("CT01", "CT09")),
    ("Bandeja estampada", "Bobina aço carbono", ("CT01", "CT05")),
    ("Tubo cortado e curvado", "Tubo aço carbono", ("CT09", "CT04")),
    ("Perfil cortado", "Perfil alumínio", ("CT09",)),
    ("Cabo injetado", "Baquelite fenólica", ("CT02",)),
    ("Puxador injetado", "Baquelite fenólica", ("CT02",)),
    ("Hélice injetada", "Polipropileno homopolímero", ("CT02",)),
    ("Corpo injetado", "Polipropileno homopolímero", ("CT02",)),
    ("Tampa injetada", "PEAD injeção", ("CT02",)),
    ("Carenagem injetada", "ABS injeção", ("CT02",)),
    ("Grade de arame", "Arame aço galvanizado", ("CT09", "CT04")),
    ("Eixo usinado", "Bobina aço carbono", ("CT03",)),
    ("Bobina enrolada", "Fio cobre esmaltado", ("CT12",)),
    ("Difusor de vidro cortado", "Vidro float", ("CT09",)),
)

SIZES_GENERIC: tuple[str, ...] = ("P", "M", "G", "GG", "14cm", "18cm", "22cm", "26cm", "30cm", "40cm", "50cm", "60cm")

WORK_CENTERS: tuple[tuple[str, str], ...] = (
    ("CT01", "Estamparia e repuxo"),
    ("CT02", "Injeção plástica"),
    ("CT03", "Usinagem CNC"),
    ("CT04", "Solda MIG e ponto"),
    ("CT05", "Pintura eletrostática"),
    ("CT06", "Montagem linha 1"),
    ("CT07", "Montagem linha 2"),
    ("CT08", "Embalagem e expedição"),
    ("CT09", "Corte e dobra"),
    ("CT10", "Tratamento superficial"),
    ("CT11", "Controle de qualidade"),
    ("CT12", "Bobinagem e eletrificação"),
)

WAREHOUSES: tuple[tuple[str, str, str], ...] = (
    ("01", "Almoxarifado de matéria-prima e componentes", "Matéria-prima"),
    ("02", "Almoxarifado de embalagens", "Embalagem"),
    ("03", "Estoque em processo", "Processo"),
    ("04", "Depósito de produto acabado", "Acabado"),
    ("05", "CD Recife", "Distribuição"),
    ("09", "Quarentena da qualidade", "Quarentena"),
)

SUPPLIER_CATEGORIES: dict[str, tuple[str, ...]] = {
    "Metais": ("Metalúrgica", "Aços", "Siderúrgica", "Alumínio", "Distribuidora de Aço"),
    "Plásticos": ("Plásticos", "Polímeros", "Resinas", "Termoplásticos"),
    "Químicos": ("Tintas", "Química", "Revestimentos", "Vernizes"),
    "Fixadores": ("Parafusos", "Fixadores", "Ferragens"),
    "Elétricos": ("Eletromecânica", "Motores", "Componentes Elétricos", "Eletrônica", "Iluminação"),
    "Componentes": ("Componentes", "Molas", "Borrachas", "Vidros", "Rodas e Rodízios"),
    "Embalagens": ("Embalagens", "Papelão", "Gráfica", "Etiquetas"),
    "Distribuidores": ("Distribuidora", "Comercial Importadora", "Atacado"),
}

SUPPLIER_SURNAMES: tuple[str, ...] = (
    "Santos",
    "Oliveira",
    "Souza",
    "Pereira",
    "Ferreira",
    "Almeida",
    "Costa",
    "Gomes",
    "Ribeiro",
    "Martins",
    "Carvalho",
    "Rocha",
    "Barbosa",
    "Moreira",
    "Cardoso",
    "Teixeira",
    "Mendes",
    "Nunes",
    "Vieira",
    "Lopes",
    "Paulista",
    "Mineira",
    "Gaúcha",
    "Catarinense",
    "Paranaense",
    "Vale do Sinos",
    "Serra Gaúcha",
    "ABC",
    "Sorocabana",
    "Campineira",
    "Atlântico",
    "Horizonte",
    "Progresso",
    "União",
    "Aliança",
    "Nacional",
    "Bandeirantes",
    "Ipiranga",
    "Tietê",
    "Paraíba",
    "Guarani",
    "Tupã",
    "Itatiaia",
    "Real",
    "Ouro Verde",
)

LEGAL_SUFFIXES: tuple[str, ...] = ("Ltda", "Ltda", "Ltda", "S.A.", "Ind. e Com. Ltda", "Eireli")

CITIES: tuple[tuple[str, str], ...] = (
    ("São Paulo", "SP"),
    ("Guarulhos", "SP"),
    ("São Bernardo do Campo", "SP"),
    ("Santo André", "SP"),
    ("Diadema", "SP"),
    ("Campinas", "SP"),
    ("Sorocaba", "SP"),
    ("Jundiaí", "SP"),
    ("Ribeirão Preto", "SP"),
    ("Joinville", "SC"),
    ("Blumenau", "SC"),
    ("Jaraguá do Sul", "SC"),
    ("Caxias do Sul", "RS"),
    ("Novo Hamburgo", "RS"),
    ("Porto Alegre", "RS"),
    ("Curitiba", "PR"),
    ("Londrina", "PR"),
    ("Maringá", "PR"),
    ("Belo Horizonte", "MG"),
    ("Contagem", "MG"),
    ("Betim", "MG"),
    ("Rio de Janeiro", "RJ"),
    ("Duque de Caxias", "RJ"),
    ("Manaus", "AM"),
    ("Recife", "PE"),
    ("Salvador", "BA"),
    ("Camaçari", "BA"),
    ("Goiânia", "GO"),
    ("Anápolis", "GO"),
    ("Fortaleza", "CE"),
    ("Serra", "ES"),
)

CUSTOMERS: tuple[str, ...] = (
    "Magazine Casa & Lar Ltda",
    "Supermercados Preço Justo S.A.",
    "Ferragens Central Ltda",
    "Atacadão do Lar Ltda",
    "Rede Utilidades Brasil S.A.",
    "Comercial Nordeste Distribuidora Ltda",
    "Lojas Rio Grande Ltda",
    "Home Center Paulista S.A.",
    "Distribuidora Minas Gerais Ltda",
    "Marketplace Compra Fácil Ltda",
    "Casas Horizonte Ltda",
    "Empório das Panelas Ltda",
    "Varejão Sul Ltda",
    "Hipermercado Econômico S.A.",
    "Construmais Materiais Ltda",
    "Loja Virtual Lar Ideal Ltda",
    "Atacado Centro-Oeste Ltda",
    "Armazém Paraense Ltda",
    "Comercial Campinas Ltda",
    "Rede Amazonas Utilidades Ltda",
    "Center Castelo Forte Ltda",
    "Magazine Fortaleza Ltda",
    "Depósito Joinvillense Ltda",
    "Bazar Curitibano Ltda",
)
