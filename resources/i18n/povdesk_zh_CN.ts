<?xml version='1.0' encoding='utf-8'?>
<TS version="2.1" language="zh_CN">
<context>
    <name>Dashboard</name>
    <message>
        <source>{title}: {households} households, {people} people</source>
        <translation>{title}：{households} 户 {people} 人</translation>
    </message>
    <message>
        <source>Data quality: run Check all (F5) to count problems.</source>
        <translation>数据质量：按 F5 检查全部户后显示问题数。</translation>
    </message>
    <message>
        <source>Data quality: {errors} households with errors, {warnings} with warnings only</source>
        <translation>数据质量：{errors} 户有错误，{warnings} 户仅有警告</translation>
    </message>
    <message>
        <source>Households by status</source>
        <translation>各状态户数</translation>
    </message>
    <message>
        <source>Households</source>
        <translation>户数</translation>
    </message>
    <message>
        <source>Main causes of poverty</source>
        <translation>主要致贫原因</translation>
    </message>
    <message>
        <source>Households by attribute</source>
        <translation>贫困户属性</translation>
    </message>
    <message>
        <source>{procedure}: households that reached each step</source>
        <translation>{procedure}：各步骤完成户数</translation>
    </message>
</context>
<context>
    <name>FormView</name>
    <message>
        <source>Yes</source>
        <translation>是</translation>
    </message>
    <message>
        <source>No</source>
        <translation>否</translation>
    </message>
</context>
<context>
    <name>HouseholdEditor</name>
    <message>
        <source>Save (Ctrl+S)</source>
        <translation>保存 (Ctrl+S)</translation>
    </message>
    <message>
        <source>Add member (Ctrl+N)</source>
        <translation>添加成员 (Ctrl+N)</translation>
    </message>
    <message>
        <source>Edit</source>
        <translation>编辑</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>删除</translation>
    </message>
    <message>
        <source>Set as head</source>
        <translation>设为户主</translation>
    </message>
    <message>
        <source>Income year</source>
        <translation>收入年度</translation>
    </message>
    <message>
        <source>Add helper</source>
        <translation>添加帮扶责任人</translation>
    </message>
    <message>
        <source>Add measure</source>
        <translation>添加帮扶措施</translation>
    </message>
    <message>
        <source>Year</source>
        <translation>年度</translation>
    </message>
    <message>
        <source>No income recorded for {year}.</source>
        <translation>{year} 年没有收入记录。</translation>
    </message>
    <message>
        <source>Net income {net} yuan, {size} people</source>
        <translation>家庭纯收入 {net} 元，{size} 人</translation>
    </message>
    <message>
        <source>per capita &lt;b&gt;{value}&lt;/b&gt; yuan</source>
        <translation>人均 &lt;b&gt;{value}&lt;/b&gt; 元</translation>
    </message>
    <message>
        <source>no poverty line for {year}</source>
        <translation>没有 {year} 年的贫困线</translation>
    </message>
    <message>
        <source>poverty line {line} yuan</source>
        <translation>贫困线 {line} 元</translation>
    </message>
    <message>
        <source>above the line</source>
        <translation>高于贫困线</translation>
    </message>
    <message>
        <source>at or below the line</source>
        <translation>不高于贫困线</translation>
    </message>
    <message>
        <source>(the year judged for identification in {year})</source>
        <translation>（{year} 年识别的参考年度）</translation>
    </message>
    <message>
        <source>Remove member</source>
        <translation>删除成员</translation>
    </message>
    <message>
        <source>Remove {name} from this household?</source>
        <translation>从本户删除 {name}？</translation>
    </message>
    <message>
        <source>(no name)</source>
        <translation>（未填姓名）</translation>
    </message>
    <message>
        <source>Findings: {errors} errors, {warnings} warnings</source>
        <translation>问题：{errors} 个错误，{warnings} 个警告</translation>
    </message>
    <message>
        <source>No findings</source>
        <translation>没有发现问题</translation>
    </message>
    <message>
        <source>Basic information</source>
        <translation>基本情况</translation>
    </message>
    <message>
        <source>Members</source>
        <translation>家庭成员</translation>
    </message>
    <message>
        <source>Income</source>
        <translation>收入</translation>
    </message>
    <message>
        <source>Living conditions</source>
        <translation>生产生活条件</translation>
    </message>
    <message>
        <source>Helpers and measures</source>
        <translation>帮扶责任人与措施</translation>
    </message>
    <message>
        <source>Procedures</source>
        <translation>程序</translation>
    </message>
    <message>
        <source>Household {no}</source>
        <translation>户 {no}</translation>
    </message>
    <message>
        <source>New household</source>
        <translation>新增户</translation>
    </message>
    <message>
        <source>unsaved changes</source>
        <translation>有未保存的修改</translation>
    </message>
    <message>
        <source>same ID number {id}</source>
        <translation>证件号码相同 {id}</translation>
    </message>
    <message>
        <source>same name and birth date</source>
        <translation>姓名和出生日期相同</translation>
    </message>
    <message>
        <source>name {name} sounds the same, same birth date</source>
        <translation>姓名 {name} 读音相同，出生日期相同</translation>
    </message>
    <message>
        <source>{name} is already registered in household {no} ({how})</source>
        <translation>{name} 已登记在户 {no}（{how}）</translation>
    </message>
    <message>
        <source>Open household {no}</source>
        <translation>打开户 {no}</translation>
    </message>
    <message>
        <source>Possible duplicate — check before saving:</source>
        <translation>可能重复登记，保存前请核对：</translation>
    </message>
    <message>
        <source>Not saved</source>
        <translation>未保存</translation>
    </message>
    <message>
        <source>Unsaved changes</source>
        <translation>未保存的修改</translation>
    </message>
    <message>
        <source>This household has unsaved changes. Save them?</source>
        <translation>本户有未保存的修改，是否保存？</translation>
    </message>
</context>
<context>
    <name>HouseholdListModel</name>
    <message>
        <source>Household no.</source>
        <translation>户编号</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>姓名</translation>
    </message>
    <message>
        <source>Village</source>
        <translation>村</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Attribute</source>
        <translation>属性</translation>
    </message>
    <message>
        <source>Main cause</source>
        <translation>主要致贫原因</translation>
    </message>
    <message>
        <source>People</source>
        <translation>人数</translation>
    </message>
</context>
<context>
    <name>Job</name>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>povdesk — {name}</source>
        <translation>povdesk 建档立卡 — {name}</translation>
    </message>
    <message>
        <source>Search: name, ID number, household number or pinyin initials</source>
        <translation>查找：姓名、证件号码、户编号或拼音首字母</translation>
    </message>
    <message>
        <source>All statuses</source>
        <translation>全部状态</translation>
    </message>
    <message>
        <source>All attributes</source>
        <translation>全部属性</translation>
    </message>
    <message>
        <source>All causes</source>
        <translation>全部致贫原因</translation>
    </message>
    <message>
        <source>Has errors</source>
        <translation>有错误</translation>
    </message>
    <message>
        <source>Has warnings</source>
        <translation>有警告</translation>
    </message>
    <message>
        <source>Any state</source>
        <translation>不限</translation>
    </message>
    <message>
        <source>Due: {step}</source>
        <translation>待办：{step}</translation>
    </message>
    <message>
        <source>&amp;Household</source>
        <translation>户(&amp;H)</translation>
    </message>
    <message>
        <source>New household</source>
        <translation>新增户</translation>
    </message>
    <message>
        <source>Find</source>
        <translation>查找</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>退出</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>查看(&amp;V)</translation>
    </message>
    <message>
        <source>Dashboard</source>
        <translation>统计概览</translation>
    </message>
    <message>
        <source>Check all households</source>
        <translation>检查全部户</translation>
    </message>
    <message>
        <source>&amp;Settings</source>
        <translation>设置(&amp;S)</translation>
    </message>
    <message>
        <source>Checking households; the filter applies when the check ends.</source>
        <translation>正在检查各户，检查完成后筛选生效。</translation>
    </message>
    <message>
        <source>{shown} shown of {total} households</source>
        <translation>显示 {shown} 户，共 {total} 户</translation>
    </message>
    <message>
        <source>Choose a village in the tree first.</source>
        <translation>请先在左侧选择一个村。</translation>
    </message>
    <message>
        <source>Saved.</source>
        <translation>已保存。</translation>
    </message>
    <message>
        <source>Checking every household…</source>
        <translation>正在检查全部户……</translation>
    </message>
    <message>
        <source>{errors} households with errors, {warnings} with warnings only</source>
        <translation>{errors} 户有错误，{warnings} 户仅有警告</translation>
    </message>
    <message>
        <source>Recover unsaved work</source>
        <translation>恢复未保存的内容</translation>
    </message>
    <message>
        <source>povdesk was closed with unsaved changes ({count} households). Open them again?</source>
        <translation>上次关闭时有未保存的修改（{count} 户），是否恢复？</translation>
    </message>
</context>
<context>
    <name>ProcedurePanel</name>
    <message>
        <source>Date</source>
        <translation>日期</translation>
    </message>
    <message>
        <source>Step</source>
        <translation>步骤</translation>
    </message>
    <message>
        <source>By</source>
        <translation>经办人</translation>
    </message>
    <message>
        <source>Status after</source>
        <translation>之后状态</translation>
    </message>
    <message>
        <source>Next steps</source>
        <translation>下一步</translation>
    </message>
    <message>
        <source>Date of the step</source>
        <translation>步骤日期</translation>
    </message>
    <message>
        <source>Record this step</source>
        <translation>记录此步骤</translation>
    </message>
    <message>
        <source>The step was refused:</source>
        <translation>此步骤不能记录：</translation>
    </message>
    <message>
        <source>Status: {status}</source>
        <translation>状态：{status}</translation>
    </message>
    <message>
        <source>Who may record it: {roles}</source>
        <translation>可记录的角色：{roles}</translation>
    </message>
    <message>
        <source>This household has unsaved changes. Save it (Ctrl+S) before recording a procedure step.</source>
        <translation>本户有未保存的修改，请先保存 (Ctrl+S) 再记录程序步骤。</translation>
    </message>
    <message>
        <source>The household has unsaved changes; save it (Ctrl+S) before recording a step.</source>
        <translation>本户有未保存的修改，请先保存 (Ctrl+S) 再记录步骤。</translation>
    </message>
</context>
<context>
    <name>RowsEditor</name>
    <message>
        <source>Remove</source>
        <translation>删除</translation>
    </message>
</context>
<context>
    <name>app</name>
    <message>
        <source>Create a workspace</source>
        <translation>新建工作区</translation>
    </message>
    <message>
        <source>No workspace yet. Enter the region this laptop works for and an administrator account.</source>
        <translation>还没有工作区。请填写本机负责的行政区划和管理员账号。</translation>
    </message>
    <message>
        <source>12-digit village, 9-digit township or 6-digit county code</source>
        <translation>12 位村、9 位乡镇或 6 位县级区划代码</translation>
    </message>
    <message>
        <source>Region code</source>
        <translation>区划代码</translation>
    </message>
    <message>
        <source>Workspace name</source>
        <translation>工作区名称</translation>
    </message>
    <message>
        <source>Administrator</source>
        <translation>管理员</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>密码</translation>
    </message>
    <message>
        <source>Password again</source>
        <translation>再次输入密码</translation>
    </message>
    <message>
        <source>Open another workspace file…</source>
        <translation>打开其他工作区文件……</translation>
    </message>
    <message>
        <source>Open workspace</source>
        <translation>打开工作区</translation>
    </message>
    <message>
        <source>povdesk workspace (*.db)</source>
        <translation>povdesk 工作区 (*.db)</translation>
    </message>
    <message>
        <source>Log in</source>
        <translation>登录</translation>
    </message>
    <message>
        <source>User</source>
        <translation>用户名</translation>
    </message>
    <message>
        <source>Demo accounts: worker, township, county, admin; password {password}</source>
        <translation>演示账号：worker、township、county、admin，密码均为 {password}</translation>
    </message>
</context>
<context>
    <name>errors</name>
    <message>
        <source>povdesk</source>
        <translation>povdesk 建档立卡</translation>
    </message>
    <message>
        <source>Unexpected error</source>
        <translation>意外错误</translation>
    </message>
    <message>
        <source>Something went wrong that povdesk did not expect. Your saved data is safe; unsaved changes are kept as a draft. Copy the details below for whoever helps you.</source>
        <translation>povdesk 遇到了意外错误。已保存的数据是安全的，未保存的修改已存为草稿。请复制下面的详细信息，发给为您提供帮助的人。</translation>
    </message>
    <message>
        <source>Copy details</source>
        <translation>复制详细信息</translation>
    </message>
</context>
</TS>